-- one row per adult treatment episode (episode_id); the version in the latest period folder wins
with

source as (
    select * from raw_health_treatment_episodes
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by episode_id order by _period_start desc, _row_number desc
    ) = 1
),

final as (
    select
        episode_id,
        la_code,
        pmf_pseudonym('health:' || client_id) as client_key,
        pmf_pseudonym('nhs:' || nhs_number) as nhs_key,
        service,
        lives_with_children,
        cast(referral_date as date) as referral_date,
        cast(treatment_start_date as date) as treatment_start_date,
        cast(discharge_date as date) as discharge_date,
        discharge_reason,
        pmf_period_label(_period) as received_period,
    from latest
)

select * from final
