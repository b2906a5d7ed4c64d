-- one row per la_code × period: % of parents discharged from substance misuse treatment having completed it
with

treatment_episodes as (
    select * from stg_health__treatment_episodes
),

la_quarters as (
    select * from int_la_quarters
),

-- Episodes count in the quarter they end; "parents" are clients living with children.
per_la as (
    select
        la_quarters.la_code,
        la_quarters.period,
        count(*) filter (where treatment_episodes.discharge_reason = 'COMPLETED') as discharges_completed,
        count(*) as discharges,
    from treatment_episodes
    inner join la_quarters
        on
            treatment_episodes.la_code = la_quarters.la_code
            and treatment_episodes.discharge_date between la_quarters.period_start and la_quarters.period_end
    where
        treatment_episodes.service = 'SUBSTANCE_MISUSE'
        and treatment_episodes.lives_with_children = 'Y'
    group by all
),

final as (
    select
        'SM_COMPLETIONS' as indicator_code,
        la_quarters.la_code,
        la_quarters.period,
        coalesce(per_la.discharges_completed, 0) as numerator,
        coalesce(per_la.discharges, 0) as denominator,
        false as history_incomplete,
    from la_quarters
    left join per_la
        on la_quarters.la_code = per_la.la_code and la_quarters.period = per_la.period
)

select * from final
