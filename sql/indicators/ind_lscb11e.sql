-- one row per la_code × period with a child witness: % of incidents whose child witness was seen in the 365 days before
with

children as (
    select * from stg_police__da_children
),

incidents as (
    select * from stg_police__da_incidents
),

-- Every staged presence of a person at a staged incident, with the incident's time and LA.
presences as (
    select
        children.incident_id,
        children.person_key,
        children.age_at_incident,
        incidents.la_code,
        incidents.reported_at,
        incidents.reported_date,
    from children
    inner join incidents on children.incident_id = incidents.incident_id
),

-- The denominator's incidents: those with at least one child aged 0-17 present.
child_presences as (
    select
        la_code,
        pmf_period_of(reported_date) as period,
        incident_id,
        person_key,
        reported_at,
    from presences
    where age_at_incident between 0 and 17
),

-- A repeat: the same child at a different incident (in any LA) whose reported_at is earlier
-- and no more than 365 days before this one's. The spec compares the reported_at datetimes
-- themselves here (the "its date" rule is for quarter membership only).
repeat_presences as (
    select distinct child_presences.incident_id
    from child_presences
    inner join presences as earlier
        on
            child_presences.person_key = earlier.person_key
            and child_presences.incident_id != earlier.incident_id
            and child_presences.reported_at > earlier.reported_at
            and child_presences.reported_at - interval 365 day <= earlier.reported_at
),

final as (
    select
        'LSCB11e' as indicator_code,
        child_presences.la_code,
        child_presences.period,
        count(distinct repeat_presences.incident_id) as numerator,
        count(distinct child_presences.incident_id) as denominator,
    from child_presences
    left join repeat_presences on child_presences.incident_id = repeat_presences.incident_id
    group by all
)

select * from final
