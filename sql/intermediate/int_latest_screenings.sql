-- one row per la_code × period × child_key: the child's latest VEMT screening in the quarter
with

screenings as (
    select * from stg_la__vemt_screenings
),

la_quarters as (
    select * from int_la_quarters
),

-- LSCB21 and RISKY_HOLISTIC judge a child by their latest screening in the quarter made while
-- aged 0-17; on the same day the greatest screening_id (compared as text: identifiers are text)
-- is taken as the later.
final as (
    select
        la_quarters.la_code,
        la_quarters.period,
        screenings.child_key,
        screenings.screening_id,
        screenings.screening_date,
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
)

select * from final
