-- one row per A&E attendance of a person aged 0-24 (attendance_id); latest period folder wins
with

source as (
    select * from latest_health_ae_attendances
),

final as (
    select
        attendance_id,
        la_code,
        pmf_nhs_key(nhs_number) as nhs_key,
        date_trunc('month', cast(dob as date)) as birth_month,
        sex,
        cast(arrived_at as timestamp) as arrived_at,
        cast(arrived_at as date) as arrived_date,
        pmf_age_years(cast(dob as date), cast(arrived_at as date)) as age_at_arrival,
        attendance_reason,
        safeguarding_referral,
        pmf_period_label(_period) as received_period,
    from source
)

select * from final
