-- one row per missing-child report (report_id); the version in the latest period folder wins
with

source as (
    select * from latest_police_missing_reports
),

final as (
    select
        report_id,
        la_code,
        pmf_police_key(person_id) as person_key,
        pmf_nhs_key(nhs_number) as nhs_key,
        date_trunc('month', cast(dob as date)) as birth_month,
        sex,
        cast(reported_missing_at as timestamp) as reported_missing_at,
        cast(reported_missing_at as date) as reported_missing_date,
        cast(found_at as timestamp) as found_at,
        pmf_age_years(cast(dob as date), cast(reported_missing_at as date)) as age_at_report,
        risk_grading,
        from_care,
        pmf_period_label(_period) as received_period,
    from source
)

select * from final
