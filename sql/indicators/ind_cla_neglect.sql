-- one row per la_code × period with a child becoming looked after because of neglect, per 10,000 aged 0-17
with

episodes as (
    select * from stg_la__cla_episodes
),

plans as (
    select * from stg_la__cp_plans
),

assessments as (
    select * from stg_la__early_help_assessments
),

-- A new period of care (reason S) under N1 "abuse or neglect", started while aged 0-17.
new_n1_episodes as (
    select
        la_code,
        pmf_period_of(episode_start_date) as period,
        child_key,
        episode_start_date,
    from episodes
    where
        reason_new_episode = 'S'
        and category_of_need = 'N1'
        and age_at_start between 0 and 17
),

-- N1 does not separate abuse from neglect: a neglect CP plan open at some time in the 365 days
-- up to the episode start, or a neglect early help assessment completed in them, does. Both
-- ends of the 365 days are inclusive, and only the same LA's records link.
neglect_episodes as (
    select
        new_n1_episodes.la_code,
        new_n1_episodes.period,
        new_n1_episodes.child_key,
    from new_n1_episodes
    where
        exists (
            select 1
            from plans
            where
                plans.la_code = new_n1_episodes.la_code
                and plans.child_key = new_n1_episodes.child_key
                and 'NEG' in (plans.initial_category, plans.latest_category)
                and plans.plan_start_date <= new_n1_episodes.episode_start_date
                and (
                    plans.plan_end_date is null
                    or plans.plan_end_date >= new_n1_episodes.episode_start_date - 365
                )
        )
        or exists (
            select 1
            from assessments
            where
                assessments.la_code = new_n1_episodes.la_code
                and assessments.child_key = new_n1_episodes.child_key
                and assessments.neglect_identified = 'Y'
                and assessments.assessment_completed_date between new_n1_episodes.episode_start_date - 365
                and new_n1_episodes.episode_start_date
        )
),

final as (
    select
        'CLA_NEGLECT' as indicator_code,
        la_code,
        period,
        count(distinct child_key) as numerator,
        -- A rate: the population (indicators.toml) is the denominator.
        cast(null as bigint) as denominator,
    from neglect_episodes
    group by all
)

select * from final
