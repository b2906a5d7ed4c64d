-- one row per la_code × period: % of domestic abuse incidents with a child witness seen in the 365 days before
with

children as (
    select * from stg_police__da_children
),

incidents as (
    select * from stg_police__da_incidents
),

la_quarters as (
    select * from int_la_quarters
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

-- The denominator's incidents: reported in the quarter with at least one child aged 0-17 present.
child_presences_in_quarter as (
    select
        la_quarters.la_code,
        la_quarters.period,
        presences.incident_id,
        presences.person_key,
        presences.reported_at,
    from presences
    inner join la_quarters
        on
            presences.la_code = la_quarters.la_code
            and presences.reported_date between la_quarters.period_start and la_quarters.period_end
    where presences.age_at_incident between 0 and 17
),

-- A repeat: the same child at a different incident (in any LA) whose reported_at is earlier
-- and no more than 365 days before this one's. The spec compares the reported_at datetimes
-- themselves here (the "its date" rule is for quarter membership only).
repeat_presences as (
    select distinct child_presences_in_quarter.incident_id
    from child_presences_in_quarter
    inner join presences as earlier
        on
            child_presences_in_quarter.person_key = earlier.person_key
            and child_presences_in_quarter.incident_id != earlier.incident_id
            and child_presences_in_quarter.reported_at > earlier.reported_at
            and child_presences_in_quarter.reported_at - interval 365 day <= earlier.reported_at
),

per_la as (
    select
        child_presences_in_quarter.la_code,
        child_presences_in_quarter.period,
        count(distinct repeat_presences.incident_id) as incidents_with_repeat_witness,
        count(distinct child_presences_in_quarter.incident_id) as incidents_with_child_witness,
    from child_presences_in_quarter
    left join repeat_presences on child_presences_in_quarter.incident_id = repeat_presences.incident_id
    group by all
),

final as (
    select
        'LSCB11e' as indicator_code,
        la_quarters.la_code,
        la_quarters.period,
        coalesce(per_la.incidents_with_repeat_witness, 0) as numerator,
        coalesce(per_la.incidents_with_child_witness, 0) as denominator,
        -- An incident early in the quarter looks back 365 days: before the first period
        -- received, earlier witnessing is unknown and the numerator may be too low.
        la_quarters.period_start - interval 365 day < la_quarters.first_received_start as history_incomplete,
    from la_quarters
    left join per_la
        on la_quarters.la_code = per_la.la_code and la_quarters.period = per_la.period
)

select * from final
