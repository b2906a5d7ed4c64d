-- one row per adult treatment episode (episode_id); the version in the latest period folder wins
with

source as (
    select * from latest_health_treatment_episodes
),

final as (
    select
        episode_id,
        la_code,
        pmf_health_key(client_id) as client_key,
        pmf_nhs_key(nhs_number) as nhs_key,
        service,
        lives_with_children,
        cast(referral_date as date) as referral_date,
        cast(treatment_start_date as date) as treatment_start_date,
        cast(discharge_date as date) as discharge_date,
        discharge_reason,
        pmf_period_label(_period) as received_period,
    from source
)

select * from final
