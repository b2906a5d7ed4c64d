-- one row per indicator × period: the four Tees LAs side by side, each compared with the board LA
with

la_values as (
    select * from main.indicator_values
),

definitions as (
    select * from main.indicator_definitions
),

settings as (
    select * from run_settings
),

board_values as (
    select
        la_values.indicator_code,
        la_values.period,
        la_values.value,
        la_values.ci_lower,
        la_values.ci_upper,
    from la_values
    inner join settings on la_values.la_code = settings.board_la_code
),

-- Significant = the two 95% intervals do not overlap; intervals that touch overlap (as in
-- work_plan_status). The board LA is not compared with itself.
compared as (
    select
        la_values.indicator_code,
        la_values.la_code,
        la_values.period,
        la_values.period_start,
        la_values.period_end,
        la_values.value,
        la_values.ci_lower,
        la_values.ci_upper,
        settings.board_la_code,
        case
            when la_values.la_code = settings.board_la_code then null
            when la_values.value is null or board_values.value is null then null
            when la_values.ci_lower > board_values.ci_upper then 'significantly higher'
            when la_values.ci_upper < board_values.ci_lower then 'significantly lower'
            else 'not significantly different'
        end as vs_board,
    from la_values
    cross join settings
    left join board_values
        on
            la_values.indicator_code = board_values.indicator_code
            and la_values.period = board_values.period
),

-- The four Tees LAs are named here, not pivoted from the data: fixed column names can be
-- documented (sql/docs.toml) and queried without knowing which LAs a refresh happened to see.
-- The codes and names match the settings' la_names default; other LAs stay in indicator_values.
side_by_side as (
    select
        indicator_code,
        period,
        period_start,
        period_end,
        any_value(board_la_code) as board_la_code,
        max(value) filter (where la_code = 'E06000001') as hartlepool_value,
        max(ci_lower) filter (where la_code = 'E06000001') as hartlepool_ci_lower,
        max(ci_upper) filter (where la_code = 'E06000001') as hartlepool_ci_upper,
        max(vs_board) filter (where la_code = 'E06000001') as hartlepool_vs_board,
        max(value) filter (where la_code = 'E06000002') as middlesbrough_value,
        max(ci_lower) filter (where la_code = 'E06000002') as middlesbrough_ci_lower,
        max(ci_upper) filter (where la_code = 'E06000002') as middlesbrough_ci_upper,
        max(vs_board) filter (where la_code = 'E06000002') as middlesbrough_vs_board,
        max(value) filter (where la_code = 'E06000003') as redcar_and_cleveland_value,
        max(ci_lower) filter (where la_code = 'E06000003') as redcar_and_cleveland_ci_lower,
        max(ci_upper) filter (where la_code = 'E06000003') as redcar_and_cleveland_ci_upper,
        max(vs_board) filter (where la_code = 'E06000003') as redcar_and_cleveland_vs_board,
        max(value) filter (where la_code = 'E06000004') as stockton_on_tees_value,
        max(ci_lower) filter (where la_code = 'E06000004') as stockton_on_tees_ci_lower,
        max(ci_upper) filter (where la_code = 'E06000004') as stockton_on_tees_ci_upper,
        max(vs_board) filter (where la_code = 'E06000004') as stockton_on_tees_vs_board,
    from compared
    group by indicator_code, period, period_start, period_end
),

final as (
    select
        side_by_side.indicator_code,
        definitions.title,
        definitions.unit,
        definitions.unit_label,
        definitions.polarity,
        side_by_side.period,
        side_by_side.period_start,
        side_by_side.period_end,
        side_by_side.board_la_code,
        side_by_side.hartlepool_value,
        side_by_side.hartlepool_ci_lower,
        side_by_side.hartlepool_ci_upper,
        side_by_side.hartlepool_vs_board,
        side_by_side.middlesbrough_value,
        side_by_side.middlesbrough_ci_lower,
        side_by_side.middlesbrough_ci_upper,
        side_by_side.middlesbrough_vs_board,
        side_by_side.redcar_and_cleveland_value,
        side_by_side.redcar_and_cleveland_ci_lower,
        side_by_side.redcar_and_cleveland_ci_upper,
        side_by_side.redcar_and_cleveland_vs_board,
        side_by_side.stockton_on_tees_value,
        side_by_side.stockton_on_tees_ci_lower,
        side_by_side.stockton_on_tees_ci_upper,
        side_by_side.stockton_on_tees_vs_board,
    from side_by_side
    left join definitions on side_by_side.indicator_code = definitions.indicator_code
)

select * from final
