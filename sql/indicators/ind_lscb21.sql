-- one row per la_code × period: % of children screened for exploitation whose latest screening found them vulnerable
with

latest_screenings as (
    select * from int_latest_screenings
),

la_quarters as (
    select * from int_la_quarters
),

-- A child counts by their latest screening in the quarter (int_latest_screenings).
per_la as (
    select
        la_code,
        period,
        count(*) filter (where risk_level in ('MEDIUM', 'HIGH')) as children_vulnerable,
        count(*) as children_screened,
    from latest_screenings
    group by all
),

final as (
    select
        'LSCB21' as indicator_code,
        la_quarters.la_code,
        la_quarters.period,
        coalesce(per_la.children_vulnerable, 0) as numerator,
        coalesce(per_la.children_screened, 0) as denominator,
        false as history_incomplete,
    from la_quarters
    left join per_la
        on la_quarters.la_code = per_la.la_code and la_quarters.period = per_la.period
)

select * from final
