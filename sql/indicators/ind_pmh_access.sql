-- one row per la_code × period: % of parents' mental health treatment starts within 28 days of referral
with

treatment_episodes as (
    select * from stg_health__treatment_episodes
),

la_quarters as (
    select * from int_la_quarters
),

-- Adult and perinatal mental health episodes of clients living with children count in the
-- quarter treatment starts; the wait is measured from the referral date.
per_la as (
    select
        la_quarters.la_code,
        la_quarters.period,
        count(*) filter (
            where treatment_episodes.treatment_start_date <= treatment_episodes.referral_date + 28
        ) as starts_within_28_days,
        count(*) as treatment_starts,
    from treatment_episodes
    inner join la_quarters
        on
            treatment_episodes.la_code = la_quarters.la_code
            and treatment_episodes.treatment_start_date between la_quarters.period_start and la_quarters.period_end
    where
        treatment_episodes.service in ('ADULT_MENTAL_HEALTH', 'PERINATAL_MENTAL_HEALTH')
        and treatment_episodes.lives_with_children = 'Y'
    group by all
),

final as (
    select
        'PMH_ACCESS' as indicator_code,
        la_quarters.la_code,
        la_quarters.period,
        coalesce(per_la.starts_within_28_days, 0) as numerator,
        coalesce(per_la.treatment_starts, 0) as denominator,
        false as history_incomplete,
    from la_quarters
    left join per_la
        on la_quarters.la_code = per_la.la_code and la_quarters.period = per_la.period
)

select * from final
