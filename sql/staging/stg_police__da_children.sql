-- one row per child present at an incident (incident_id × person_id); latest period folder wins
with

source as (
    select * from raw_police_da_children
),

incidents as (
    select * from raw_police_da_incidents
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by incident_id, person_id order by _period_start desc, _row_number desc
    ) = 1
),

-- The child's age is taken at the incident, and the full dob must not leave staging, so the
-- incident date is joined here rather than downstream.
latest_incidents as (
    select
        incident_id,
        cast(reported_at as date) as reported_date,
    from incidents
    qualify row_number() over (partition by incident_id order by _period_start desc, _row_number desc) = 1
),

final as (
    select
        latest.incident_id,
        pmf_pseudonym('police:' || latest.person_id) as person_key,
        pmf_pseudonym('nhs:' || latest.nhs_number) as nhs_key,
        date_trunc('month', cast(latest.dob as date)) as birth_month,
        latest.sex,
        pmf_age_years(cast(latest.dob as date), latest_incidents.reported_date) as age_at_incident,
        pmf_period_label(latest._period) as received_period,
    from latest
    left join latest_incidents on latest.incident_id = latest_incidents.incident_id
)

select * from final
