-- one row per la_code × period: children aged 10-17 showing risky behaviour (any agency), per 10,000 aged 10-17
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

la_quarters as (
    select * from int_la_quarters
),

population as (
    select * from int_population_by_quarter
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
children_at_risk as (
    select
        la_quarters.la_code,
        la_quarters.period,
        count(distinct linkage_keys.linkage_key) as children_risky,
    from risky_events
    inner join linkage_keys
        on risky_events.agency = linkage_keys.agency and risky_events.source_key = linkage_keys.source_key
    inner join la_quarters
        on
            risky_events.la_code = la_quarters.la_code
            and risky_events.event_date between la_quarters.period_start and la_quarters.period_end
    group by all
),

final as (
    select
        'RISKY_CHILDREN' as indicator_code,
        la_quarters.la_code,
        la_quarters.period,
        coalesce(children_at_risk.children_risky, 0) as numerator,
        population.persons_10_17 as denominator,
        false as history_incomplete,
    from la_quarters
    left join children_at_risk
        on la_quarters.la_code = children_at_risk.la_code and la_quarters.period = children_at_risk.period
    left join population
        on la_quarters.la_code = population.la_code and la_quarters.period = population.period
)

select * from final
