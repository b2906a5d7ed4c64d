-- one row per la_code × period with a high-risk domestic abuse incident: % of them referred to MARAC
with

incidents as (
    select * from stg_police__da_incidents
),

-- MARAC is for the incidents the DASH assessment grades HIGH risk.
final as (
    select
        'MARAC' as indicator_code,
        la_code,
        pmf_period_of(reported_date) as period,
        count(*) filter (where marac_referral = 'Y') as numerator,
        count(*) as denominator,
    from incidents
    where dash_risk = 'HIGH'
    group by all
)

select * from final
