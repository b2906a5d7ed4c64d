-- one row per early help assessment (assessment_id); the version in the latest period folder wins
with

source as (
    select * from latest_la_early_help_assessments
),

final as (
    select
        assessment_id,
        la_code,
        pmf_la_child_key(la_code, child_id) as child_key,
        pmf_nhs_key(nhs_number) as nhs_key,
        date_trunc('month', cast(dob as date)) as birth_month,
        sex,
        cast(assessment_start_date as date) as assessment_start_date,
        cast(assessment_completed_date as date) as assessment_completed_date,
        -- In-progress assessments (no completion date) are staged but have no age at completion.
        pmf_age_years(cast(dob as date), cast(assessment_completed_date as date)) as age_at_completion,
        pmf_age_years(cast(dob as date), cast(assessment_start_date as date)) as age_at_start,
        neglect_identified,
        factors,
        pmf_period_label(_period) as received_period,
    from source
)

select * from final
