-- one row per la_code × period with a child aged 10-17 showing risky behaviour (any agency), per 10,000 aged 10-17
with

missing_reports as (
    select * from stg_police__missing_reports
),

screenings as (
    select * from stg_la__vemt_screenings
),

attendances as (
    select * from stg_health__ae_attendances
),

linkage_keys as (
    select * from int_linkage_keys
),

-- Each agency's risky events of people aged 10-17 at the event, in the record's own LA.
risky_events as (
    select
        la_code,
        reported_missing_date as event_date,
        'police' as agency,
        person_key as source_key,
    from missing_reports
    where age_at_report between 10 and 17

    union all

    select
        la_code,
        screening_date as event_date,
        'la' as agency,
        child_key as source_key,
    from screenings
    where
        risk_level in ('MEDIUM', 'HIGH')
        and age_at_screening between 10 and 17

    union all

    select
        la_code,
        arrived_date as event_date,
        'health_ae' as agency,
        nhs_key as source_key,
    from attendances
    where
        attendance_reason in ('SELF_HARM', 'ALCOHOL', 'DRUGS')
        and age_at_arrival between 10 and 17
),

-- One person seen by several agencies counts once: people are counted by linkage key.
final as (
    select
        'RISKY_CHILDREN' as indicator_code,
        risky_events.la_code,
        pmf_period_of(risky_events.event_date) as period,
        count(distinct linkage_keys.linkage_key) as numerator,
        -- A rate: the population (indicators.toml) is the denominator.
        cast(null as bigint) as denominator,
    from risky_events
    inner join linkage_keys
        on risky_events.agency = linkage_keys.agency and risky_events.source_key = linkage_keys.source_key
    group by all
)

select * from final
