-- one row per plan line × indicator × la_code × period: is the target moving? (indicators.md)
with

plan_lines as (
    select * from ref_work_plan
),

lead_updates as (
    select * from ref_plan_line_updates
),

indicator_values as (
    select * from main.indicator_values
),

quarters as (
    select * from int_quarters
),

settings as (
    select * from run_settings
),

-- SPC readings of every series as at each quarter (pipelines/spc.py, written by the refresh):
-- pack_period is the quarter the series runs up to.
spc_points as (
    select * from spc_readings
),

benchmarks as (
    select * from main.indicator_benchmark
),

-- A line may be evidenced by several indicators (2.2.3: LSCB19 and RHI72): one row each.
line_indicators as (
    select
        plan_lines.line_id,
        trim(unnest(string_split(plan_lines.indicator_codes, ';'))) as indicator_code,
        coalesce(nullif(plan_lines.baseline_period, ''), settings.default_baseline_period) as baseline_period,
    from plan_lines
    cross join settings
    where coalesce(plan_lines.indicator_codes, '') != ''
),

available as (
    select * from indicator_values
    where value is not null
),

-- The baseline: the line's baseline quarter, or, when that value is flagged history_incomplete,
-- the earliest later quarter whose value is not.
baseline_candidates as (
    select
        line_indicators.line_id,
        line_indicators.indicator_code,
        line_indicators.baseline_period,
        indicator_values.la_code,
        indicator_values.period,
        indicator_values.period_start,
        indicator_values.value,
        indicator_values.ci_lower,
        indicator_values.ci_upper,
    from line_indicators
    inner join quarters as baseline_quarter on line_indicators.baseline_period = baseline_quarter.period
    inner join indicator_values
        on
            line_indicators.indicator_code = indicator_values.indicator_code
            and baseline_quarter.period_start <= indicator_values.period_start
            and not indicator_values.history_incomplete
    qualify row_number() over (
        partition by line_indicators.line_id, line_indicators.indicator_code, indicator_values.la_code
        order by indicator_values.period_start
    ) = 1
),

las as (
    select distinct la_code from indicator_values
),

line_la_periods as (
    select
        line_indicators.line_id,
        line_indicators.indicator_code,
        line_indicators.baseline_period as planned_baseline_period,
        las.la_code,
        quarters.period,
        quarters.period_start,
        quarters.period_end,
    from line_indicators
    cross join las
    cross join quarters
),

-- "For the latest quarter with a value": the last available value up to the reported quarter.
with_latest as (
    select
        line_la_periods.*,
        latest.period as latest_period,
        latest.period_start as latest_period_start,
        latest.value as latest_value,
        latest.ci_lower as latest_ci_lower,
        latest.ci_upper as latest_ci_upper,
        latest.numerator as latest_numerator,
        latest.denominator as latest_denominator,
        latest.polarity,
    from line_la_periods
    asof left join available as latest
        on
            line_la_periods.indicator_code = latest.indicator_code
            and line_la_periods.la_code = latest.la_code
            and line_la_periods.period_start >= latest.period_start
),

compared as (
    select
        with_latest.*,
        baseline.period as baseline_period,
        baseline.value as baseline_value,
        baseline.ci_lower as baseline_ci_lower,
        baseline.ci_upper as baseline_ci_upper,
        year_ago.value as year_ago_value,
        year_ago.ci_lower as year_ago_ci_lower,
        year_ago.ci_upper as year_ago_ci_upper,
    from with_latest
    left join baseline_candidates as baseline
        on
            with_latest.line_id = baseline.line_id
            and with_latest.indicator_code = baseline.indicator_code
            and with_latest.la_code = baseline.la_code
            and with_latest.latest_period_start >= baseline.period_start
    left join available as year_ago
        on
            with_latest.indicator_code = year_ago.indicator_code
            and with_latest.la_code = year_ago.la_code
            and year_ago.period_start = with_latest.latest_period_start - interval 1 year
),

-- Significance and direction use one rule (pmf_compare in sql/macros.sql).
judged as (
    select
        compared.*,
        pmf_compare(
            compared.latest_value, compared.latest_ci_lower, compared.latest_ci_upper,
            compared.baseline_value, compared.baseline_ci_lower, compared.baseline_ci_upper,
            compared.polarity, 'improved', 'worsened'
        ) as change_vs_baseline,
        pmf_compare(
            compared.latest_value, compared.latest_ci_lower, compared.latest_ci_upper,
            compared.year_ago_value, compared.year_ago_ci_lower, compared.year_ago_ci_upper,
            compared.polarity, 'improving', 'worsening'
        ) as direction_of_travel,
    from compared
),

computed_lines as (
    select
        judged.line_id,
        judged.indicator_code,
        judged.la_code,
        judged.period,
        coalesce(judged.baseline_period, judged.planned_baseline_period) as baseline_period,
        judged.baseline_value,
        judged.latest_period,
        judged.latest_value,
        judged.latest_numerator,
        judged.latest_denominator,
        judged.year_ago_value,
        judged.change_vs_baseline,
        judged.direction_of_travel,
        case judged.change_vs_baseline
            when 'improved' then 'green'
            when 'worsened' then 'red'
            when 'no significant change' then 'amber'
            else 'grey'
        end as rag,
        -- SPC reading of the latest quarter's point in the series up to `period`; a quarter left
        -- out of the series (flagged history_incomplete) or no latest quarter at all: too few points.
        coalesce(spc_points.variation, 'too few points') as spc_variation,
        coalesce(benchmarks.comparison, 'not compared') as tees_comparison,
        coalesce(benchmarks.comparison = 'worse' and judged.direction_of_travel = 'worsening', false) as is_red_red,
        'computed' as status_source,
        cast(null as varchar) as commentary,
        judged.period_end,
    from judged
    left join spc_points
        on
            judged.indicator_code = spc_points.indicator_code
            and judged.la_code = spc_points.la_code
            and judged.period = spc_points.pack_period
            and judged.latest_period = spc_points.period
    left join benchmarks
        on
            judged.indicator_code = benchmarks.indicator_code
            and judged.la_code = benchmarks.la_code
            and judged.latest_period = benchmarks.period
),

-- Lines no indicator evidences keep the RAG and commentary their leads enter.
lead_lines as (
    select
        plan_lines.line_id,
        cast(null as varchar) as indicator_code,
        settings.board_la_code as la_code,
        quarters.period,
        cast(null as varchar) as baseline_period,
        cast(null as double) as baseline_value,
        cast(null as varchar) as latest_period,
        cast(null as double) as latest_value,
        cast(null as bigint) as latest_numerator,
        cast(null as bigint) as latest_denominator,
        cast(null as double) as year_ago_value,
        'no data' as change_vs_baseline,
        'no data' as direction_of_travel,
        coalesce(nullif(lower(trim(lead_updates.rag)), ''), 'grey') as rag,
        cast(null as varchar) as spc_variation,
        cast(null as varchar) as tees_comparison,
        false as is_red_red,
        'lead' as status_source,
        coalesce(nullif(lead_updates.commentary, ''), 'awaiting update') as commentary,
        quarters.period_end,
    from plan_lines
    cross join settings
    cross join quarters
    left join lead_updates on plan_lines.line_id = lead_updates.line_id
    where coalesce(plan_lines.indicator_codes, '') = ''
),

all_lines as (
    select * from computed_lines
    union all
    select * from lead_lines
),

final as (
    select
        all_lines.line_id,
        plan_lines.plan,
        plan_lines.section,
        plan_lines.objective,
        plan_lines.text as line_text,
        all_lines.indicator_code,
        all_lines.la_code,
        all_lines.period,
        all_lines.baseline_period,
        all_lines.baseline_value,
        all_lines.latest_period,
        all_lines.latest_value,
        all_lines.latest_numerator,
        all_lines.latest_denominator,
        all_lines.year_ago_value,
        all_lines.change_vs_baseline,
        all_lines.direction_of_travel,
        all_lines.rag,
        cast(nullif(plan_lines.due_date, '') as date) as due_date,
        plan_lines.due_kind,
        -- Overdue as at the reported quarter (not today's date), so past packs stay as they were.
        coalesce(
            cast(nullif(plan_lines.due_date, '') as date) < all_lines.period_end
            and all_lines.rag != 'green',
            false
        ) as is_overdue,
        all_lines.spc_variation,
        all_lines.tees_comparison,
        -- Red-red: worse than the Tees figure and worsening over the year (indicators.md).
        all_lines.is_red_red,
        all_lines.status_source,
        all_lines.commentary,
    from all_lines
    inner join plan_lines on all_lines.line_id = plan_lines.line_id
)

select * from final
