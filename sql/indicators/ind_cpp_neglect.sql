-- one row per la_code × period: children becoming subject to a child protection plan for neglect, per 10,000 aged 0-17
with

plans as (
    select * from stg_la__cp_plans
),

la_quarters as (
    select * from int_la_quarters
),

population as (
    select * from int_population_by_quarter
),

-- "Becoming subject" is about why the plan started, so the initial category decides (the latest
-- category may change later). Unborn children are age 0 at the start and count.
children_starting as (
    select
        la_quarters.la_code,
        la_quarters.period,
        count(distinct plans.child_key) as children_neglect_plan,
    from plans
    inner join la_quarters
        on
            plans.la_code = la_quarters.la_code
            and plans.plan_start_date between la_quarters.period_start and la_quarters.period_end
    where
        plans.initial_category = 'NEG'
        and plans.age_at_start between 0 and 17
    group by all
),

final as (
    select
        'CPP_NEGLECT' as indicator_code,
        la_quarters.la_code,
        la_quarters.period,
        coalesce(children_starting.children_neglect_plan, 0) as numerator,
        population.persons_0_17 as denominator,
        false as history_incomplete,
    from la_quarters
    left join children_starting
        on la_quarters.la_code = children_starting.la_code and la_quarters.period = children_starting.period
    left join population
        on la_quarters.la_code = population.la_code and la_quarters.period = population.period
)

select * from final
