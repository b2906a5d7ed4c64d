-- one row per child protection plan (plan_id); the version in the latest period folder wins
with

-- An open plan is re-sent every quarter; the latest copy carries its end date once it ends.
source as (
    select * from latest_la_cp_plans
),

final as (
    select
        plan_id,
        la_code,
        pmf_la_child_key(la_code, child_id) as child_key,
        pmf_nhs_key(nhs_number) as nhs_key,
        date_trunc('month', cast(dob as date)) as birth_month,
        sex,
        cast(plan_start_date as date) as plan_start_date,
        cast(plan_end_date as date) as plan_end_date,
        -- Unborn children (dob after the start) are age 0 (contract).
        pmf_age_years(cast(dob as date), cast(plan_start_date as date)) as age_at_start,
        cast(dob as date) > cast(plan_start_date as date) as is_unborn_at_start,
        initial_category,
        latest_category,
        pmf_period_label(_period) as received_period,
    from source
)

select * from final
