-- one row per child present at an incident (incident_id × person_id); latest period folder wins
with

children as (
    select * from latest_police_da_children
),

incidents as (
    select * from latest_police_da_incidents
),

-- The child's age is taken at the incident, and the full dob must not leave staging, so the
-- incident date is joined here rather than downstream.
final as (
    select
        children.incident_id,
        pmf_police_key(children.person_id) as person_key,
        pmf_nhs_key(children.nhs_number) as nhs_key,
        date_trunc('month', cast(children.dob as date)) as birth_month,
        children.sex,
        pmf_age_years(cast(children.dob as date), cast(incidents.reported_at as date)) as age_at_incident,
        pmf_period_label(children._period) as received_period,
    from children
    left join incidents on children.incident_id = incidents.incident_id
)

select * from final
