-- one row per missing or absent episode (episode_id); the version in the latest period folder wins
with

source as (
    select * from latest_la_missing_episodes
),

final as (
    select
        episode_id,
        la_code,
        pmf_la_child_key(la_code, child_id) as child_key,
        date_trunc('month', cast(dob as date)) as birth_month,
        sex,
        missing_or_away,
        cast(missing_start as timestamp) as missing_start,
        cast(missing_end as timestamp) as missing_end,
        pmf_age_years(cast(dob as date), cast(missing_start as date)) as age_at_start,
        rhi_offered,
        rhi_accepted,
        cast(rhi_date as date) as rhi_date,
        pmf_period_label(_period) as received_period,
    from source
)

select * from final
