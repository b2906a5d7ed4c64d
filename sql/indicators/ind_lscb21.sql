-- one row per la_code × period with a child screened for exploitation: % whose latest screening found them vulnerable
with

latest_screenings as (
    select * from int_latest_screenings
),

-- A child counts by their latest screening in the quarter (int_latest_screenings).
final as (
    select
        'LSCB21' as indicator_code,
        la_code,
        period,
        count(*) filter (where risk_level in ('MEDIUM', 'HIGH')) as numerator,
        count(*) as denominator,
    from latest_screenings
    group by all
)

select * from final
