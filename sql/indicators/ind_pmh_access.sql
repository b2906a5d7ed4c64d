-- one row per la_code × period with a parent starting mental health treatment: % within 28 days of referral
with

treatment_episodes as (
    select * from stg_health__treatment_episodes
),

-- Adult and perinatal mental health episodes of clients living with children count in the
-- quarter treatment starts; the wait is measured from the referral date.
final as (
    select
        'PMH_ACCESS' as indicator_code,
        la_code,
        pmf_period_of(treatment_start_date) as period,
        count(*) filter (where treatment_start_date <= referral_date + 28) as numerator,
        count(*) as denominator,
    from treatment_episodes
    where
        service in ('ADULT_MENTAL_HEALTH', 'PERINATAL_MENTAL_HEALTH')
        and lives_with_children = 'Y'
    group by all
)

select * from final
