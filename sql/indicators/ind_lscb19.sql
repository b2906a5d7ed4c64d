-- one row per la_code × period with a child reported missing in the rolling 12 months: % of them reported 4+ times
with

reports as (
    select * from stg_police__missing_reports
),

la_quarters as (
    select * from int_la_quarters
),

-- Only the LA's own reports count, and only reports made while the child was aged 0-17.
reports_in_window as (
    select
        la_quarters.la_code,
        la_quarters.period,
        reports.person_key,
        count(*) as report_count,
    from la_quarters
    inner join reports
        on
            la_quarters.la_code = reports.la_code
            and reports.reported_missing_date between la_quarters.window_start and la_quarters.period_end
    where reports.age_at_report between 0 and 17
    group by all
),

final as (
    select
        'LSCB19' as indicator_code,
        la_code,
        period,
        count(*) filter (where report_count >= 4) as numerator,
        count(*) as denominator,
    from reports_in_window
    group by all
)

select * from final
