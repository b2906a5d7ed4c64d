-- one row per la_code × period with a child becoming subject to a child protection plan for neglect, per 10,000
with

plans as (
    select * from stg_la__cp_plans
),

-- "Becoming subject" is about why the plan started, so the initial category decides (the latest
-- category may change later). Unborn children are age 0 at the start and count.
final as (
    select
        'CPP_NEGLECT' as indicator_code,
        la_code,
        pmf_period_of(plan_start_date) as period,
        count(distinct child_key) as numerator,
        -- A rate: the population (indicators.toml) is the denominator.
        cast(null as bigint) as denominator,
    from plans
    where
        initial_category = 'NEG'
        and age_at_start between 0 and 17
    group by all
)

select * from final
