-- one row per la_code × period with a parent discharged from substance misuse treatment: % having completed it
with

treatment_episodes as (
    select * from stg_health__treatment_episodes
),

-- Episodes count in the quarter they end; "parents" are clients living with children.
final as (
    select
        'SM_COMPLETIONS' as indicator_code,
        la_code,
        pmf_period_of(discharge_date) as period,
        count(*) filter (where discharge_reason = 'COMPLETED') as numerator,
        count(*) as denominator,
    from treatment_episodes
    where
        service = 'SUBSTANCE_MISUSE'
        and lives_with_children = 'Y'
    group by all
)

select * from final
