-- one row per la_code × period: % of children at medium or high risk of exploitation who have a holistic plan
with

screenings as (
    select * from stg_la__vemt_screenings
),

la_quarters as (
    select * from int_la_quarters
),

-- As in LSCB21: the child's latest screening in the quarter made while aged 0-17, ties broken
-- by the greatest screening_id (as text). Only that screening decides both risk and plan.
latest_screenings as (
    select
        la_quarters.la_code,
        la_quarters.period,
        screenings.child_key,
        screenings.risk_level,
        screenings.holistic_plan,
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
