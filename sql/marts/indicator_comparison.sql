-- one row per indicator × la_code × period of the board and comparator LAs (settings), each against the board LA
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

-- The comparator LAs come from the settings (comparator_la_codes, with la_names), written by the
-- refresh: long, one row per LA, so any set of LAs works and no column is named after an LA.
comparator_areas as (
    select * from comparator_las
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

-- Significance by the one rule work_plan_status uses too (pmf_significance in sql/macros.sql).
-- The board LA is not compared with itself.
compared as (
    select
        la_values.indicator_code,
        la_values.la_code,
        comparator_areas.la_name,
        la_values.period,
        la_values.period_start,
        la_values.period_end,
        la_values.value,
        la_values.ci_lower,
        la_values.ci_upper,
        settings.board_la_code,
        board_values.value as board_value,
        case
            when la_values.la_code != settings.board_la_code
                then pmf_significance(
                    la_values.value, la_values.ci_lower, la_values.ci_upper,
                    board_values.value, board_values.ci_lower, board_values.ci_upper
                )
        end as vs_board,
    from la_values
    inner join comparator_areas on la_values.la_code = comparator_areas.la_code
    cross join settings
    left join board_values
        on
            la_values.indicator_code = board_values.indicator_code
            and la_values.period = board_values.period
),

final as (
    select
        compared.indicator_code,
        definitions.title,
        definitions.unit,
        definitions.unit_label,
        definitions.polarity,
        compared.la_code,
        compared.la_name,
        compared.period,
        compared.period_start,
        compared.period_end,
        compared.board_la_code,
        compared.value,
        compared.ci_lower,
        compared.ci_upper,
        compared.board_value,
        compared.vs_board,
    from compared
    left join definitions on compared.indicator_code = definitions.indicator_code
)

select * from final
