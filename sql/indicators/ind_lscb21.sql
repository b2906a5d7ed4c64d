-- one row per la_code × period: % of children screened for exploitation whose latest screening found them vulnerable
with

screenings as (
    select * from stg_la__vemt_screenings
),

la_quarters as (
    select * from int_la_quarters
),

-- A child's position in the quarter is their latest screening made while aged 0-17; on the same
-- day the greatest screening_id (compared as text: identifiers are text) is taken as the later.
latest_screenings as (
    select
        la_quarters.la_code,
        la_quarters.period,
        screenings.child_key,
        screenings.risk_level,
    from screenings
    inner join la_quarters
        on
            screenings.la_code = la_quarters.la_code
            and screenings.screening_date between la_quarters.period_start and la_quarters.period_end
    where screenings.age_at_screening between 0 and 17
    qualify row_number() over (
        partition by la_quarters.la_code, la_quarters.period, screenings.child_key
        order by screenings.screening_date desc, screenings.screening_id desc
    ) = 1
),

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
