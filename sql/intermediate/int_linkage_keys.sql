-- one row per person id of an agency (police person_key, LA child_key, A&E nhs_key): its linkage key
with

police_missing_reports as (
    select * from stg_police__missing_reports
),

police_da_children as (
    select * from stg_police__da_children
),

police_da_incidents as (
    select * from stg_police__da_incidents
),

early_help_assessments as (
    select * from stg_la__early_help_assessments
),

cp_plans as (
    select * from stg_la__cp_plans
),

cla_episodes as (
    select * from stg_la__cla_episodes
),

missing_episodes as (
    select * from stg_la__missing_episodes
),

vemt_screenings as (
    select * from stg_la__vemt_screenings
),

ae_attendances as (
    select * from stg_health__ae_attendances
),

-- Every staged row that names a person, with the NHS number it carries (the key of a valid one,
-- else null) and its event date. Police ids identify a person across police extracts; LA child
-- keys already hash la_code with child_id, so one LA's child never links to another LA's by id.
sightings as (
    select
        'police' as agency,
        person_key as source_key,
        nhs_key,
        reported_missing_at as seen_at,
        received_period,
    from police_missing_reports

    union all

    -- A child present at an incident has no event date of their own: the incident's is used
    -- (none when the incident row itself was quarantined: such rows rank last). da_incidents'
    -- victim_id carries no NHS number, so victims add nothing to link by.
    select
        'police' as agency,
        police_da_children.person_key as source_key,
        police_da_children.nhs_key,
        police_da_incidents.reported_at as seen_at,
        police_da_children.received_period,
    from police_da_children
    left join police_da_incidents on police_da_children.incident_id = police_da_incidents.incident_id

    union all

    -- An assessment still in progress has no completion (event) date; its start date stands in
    -- so the NHS number it carries is still used.
    select
        'la' as agency,
        child_key as source_key,
        nhs_key,
        cast(coalesce(assessment_completed_date, assessment_start_date) as timestamp) as seen_at,
        received_period,
    from early_help_assessments

    union all

    select
        'la' as agency,
        child_key as source_key,
        nhs_key,
        cast(plan_start_date as timestamp) as seen_at,
        received_period,
    from cp_plans

    union all

    select
        'la' as agency,
        child_key as source_key,
        nhs_key,
        cast(episode_start_date as timestamp) as seen_at,
        received_period,
    from cla_episodes

    union all

    -- Missing episodes carry no NHS number, but their children still need a key.
    select
        'la' as agency,
        child_key as source_key,
        null as nhs_key,
        missing_start as seen_at,
        received_period,
    from missing_episodes

    union all

    select
        'la' as agency,
        child_key as source_key,
        nhs_key,
        cast(screening_date as timestamp) as seen_at,
        received_period,
    from vemt_screenings

    union all

    -- An A&E attendance is identified by its (required, valid) NHS number alone.
    select
        'health_ae' as agency,
        nhs_key as source_key,
        nhs_key,
        arrived_at as seen_at,
        received_period,
    from ae_attendances
),

-- The most recent valid NHS number seen for the source id, by event date (contract). Rows on the
-- same date are settled by the later submission, then by the key itself, so reruns agree.
latest_nhs as (
    select
        agency,
        source_key,
        nhs_key,
    from sightings
    where nhs_key is not null
    qualify row_number() over (
        partition by agency, source_key
        order by seen_at desc nulls last, received_period desc, nhs_key desc
    ) = 1
),

people as (
    select distinct
        agency,
        source_key,
    from sightings
),

final as (
    select
        people.agency,
        people.source_key,
        -- NHS keys ('nhs:…') and source-id keys ('police:…', 'la:…') are hashes of different
        -- namespaces, so a key without an NHS number never collides with one that has it.
        coalesce(latest_nhs.nhs_key, people.source_key) as linkage_key,
        latest_nhs.nhs_key is not null as is_linked_by_nhs_number,
    from people
    left join latest_nhs
        on people.agency = latest_nhs.agency and people.source_key = latest_nhs.source_key
)

select * from final
