-- one row per la_code × period with a child at medium or high risk of exploitation: % who have a holistic plan
with

latest_screenings as (
    select * from int_latest_screenings
),

-- Only the child's latest screening in the quarter (int_latest_screenings) decides both
-- risk and plan.
final as (
    select
        'RISKY_HOLISTIC' as indicator_code,
        la_code,
        period,
        count(*) filter (where holistic_plan = 'Y') as numerator,
        count(*) as denominator,
    from latest_screenings
    where risk_level in ('MEDIUM', 'HIGH')
    group by all
)

select * from final
