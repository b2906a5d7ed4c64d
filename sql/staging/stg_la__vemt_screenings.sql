-- one row per exploitation (VEMT) screening (screening_id); latest period folder wins
with

source as (
    select * from latest_la_vemt_screenings
),

final as (
    select
        screening_id,
        la_code,
        pmf_la_child_key(la_code, child_id) as child_key,
        pmf_nhs_key(nhs_number) as nhs_key,
        date_trunc('month', cast(dob as date)) as birth_month,
        sex,
        cast(screening_date as date) as screening_date,
        pmf_age_years(cast(dob as date), cast(screening_date as date)) as age_at_screening,
        risk_level,
        missing_concern,
        exploitation_concern,
        trafficking_concern,
        holistic_plan,
        pmf_period_label(_period) as received_period,
    from source
)

select * from final
