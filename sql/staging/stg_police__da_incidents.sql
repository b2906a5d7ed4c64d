-- one row per domestic abuse incident (incident_id); the version in the latest period folder wins
with

source as (
    select * from latest_police_da_incidents
),

final as (
    select
        incident_id,
        la_code,
        cast(reported_at as timestamp) as reported_at,
        cast(reported_at as date) as reported_date,
        pmf_police_key(victim_id) as victim_key,
        dash_risk,
        marac_referral,
        crime_recorded,
        pmf_period_label(_period) as received_period,
    from source
)

select * from final
