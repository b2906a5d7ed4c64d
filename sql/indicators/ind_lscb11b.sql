-- one row per la_code × period with a child witness: children aged 0-17 at a domestic abuse incident, per 10,000
with

children as (
    select * from stg_police__da_children
),

incidents as (
    select * from stg_police__da_incidents
),

-- A child belongs to the LA of the incident (indicators.md), and is counted once per quarter
-- however many incidents they were present at.
final as (
    select
        'LSCB11b' as indicator_code,
        incidents.la_code,
        pmf_period_of(incidents.reported_date) as period,
        count(distinct children.person_key) as numerator,
        -- A rate: the population (indicators.toml) is the denominator.
        cast(null as bigint) as denominator,
    from children
    inner join incidents on children.incident_id = incidents.incident_id
    where children.age_at_incident between 0 and 17
    group by all
)

select * from final
