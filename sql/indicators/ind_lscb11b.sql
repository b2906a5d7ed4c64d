-- one row per la_code × period: children aged 0-17 present at a domestic abuse incident, per 10,000
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

population as (
    select * from int_population_by_quarter
),

-- A child belongs to the LA of the incident (indicators.md), and is counted once per quarter
-- however many incidents they were present at.
witnesses as (
    select
        incidents.la_code,
        la_quarters.period,
        count(distinct children.person_key) as children_witnessing,
    from children
    inner join incidents on children.incident_id = incidents.incident_id
    inner join la_quarters
        on
            incidents.la_code = la_quarters.la_code
            and incidents.reported_date between la_quarters.period_start and la_quarters.period_end
    where children.age_at_incident between 0 and 17
    group by all
),

final as (
    select
        'LSCB11b' as indicator_code,
        la_quarters.la_code,
        la_quarters.period,
        coalesce(witnesses.children_witnessing, 0) as numerator,
        population.persons_0_17 as denominator,
        false as history_incomplete,
    from la_quarters
    left join witnesses
        on la_quarters.la_code = witnesses.la_code and la_quarters.period = witnesses.period
    left join population
        on la_quarters.la_code = population.la_code and la_quarters.period = population.period
)

select * from final
