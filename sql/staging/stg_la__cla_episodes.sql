-- one row per looked-after episode (episode_id); the version in the latest period folder wins
with

source as (
    select * from latest_la_cla_episodes
),

final as (
    select
        episode_id,
        la_code,
        pmf_la_child_key(la_code, child_id) as child_key,
        pmf_nhs_key(nhs_number) as nhs_key,
        date_trunc('month', cast(dob as date)) as birth_month,
        sex,
        cast(episode_start_date as date) as episode_start_date,
        pmf_age_years(cast(dob as date), cast(episode_start_date as date)) as age_at_start,
        reason_new_episode,
        legal_status,
        category_of_need,
        cast(episode_end_date as date) as episode_end_date,
        reason_episode_ceased,
        pmf_period_label(_period) as received_period,
    from source
)

select * from final
