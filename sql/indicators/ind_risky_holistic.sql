-- one row per la_code × period: % of children at medium or high risk of exploitation who have a holistic plan
with

latest_screenings as (
    select * from int_latest_screenings
),

la_quarters as (
    select * from int_la_quarters
),

-- Only the child's latest screening in the quarter (int_latest_screenings) decides both
-- risk and plan.
per_la as (
    select
        la_code,
        period,
        count(*) filter (where holistic_plan = 'Y') as children_with_holistic_plan,
        count(*) as children_at_risk,
    from latest_screenings
    where risk_level in ('MEDIUM', 'HIGH')
    group by all
),

final as (
    select
        'RISKY_HOLISTIC' as indicator_code,
        la_quarters.la_code,
        la_quarters.period,
        coalesce(per_la.children_with_holistic_plan, 0) as numerator,
        coalesce(per_la.children_at_risk, 0) as denominator,
        false as history_incomplete,
    from la_quarters
    left join per_la
        on la_quarters.la_code = per_la.la_code and la_quarters.period = per_la.period
)

select * from final
