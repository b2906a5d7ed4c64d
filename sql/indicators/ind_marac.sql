-- one row per la_code × period: % of high-risk domestic abuse incidents referred to MARAC
with

incidents as (
    select * from stg_police__da_incidents
),

la_quarters as (
    select * from int_la_quarters
),

-- MARAC is for the incidents the DASH assessment grades HIGH risk.
per_la as (
    select
        la_quarters.la_code,
        la_quarters.period,
        count(*) filter (where incidents.marac_referral = 'Y') as incidents_referred,
        count(*) as incidents_high_risk,
    from incidents
    inner join la_quarters
        on
            incidents.la_code = la_quarters.la_code
            and incidents.reported_date between la_quarters.period_start and la_quarters.period_end
    where incidents.dash_risk = 'HIGH'
    group by all
),

final as (
    select
        'MARAC' as indicator_code,
        la_quarters.la_code,
        la_quarters.period,
        coalesce(per_la.incidents_referred, 0) as numerator,
        coalesce(per_la.incidents_high_risk, 0) as denominator,
        false as history_incomplete,
    from la_quarters
    left join per_la
        on la_quarters.la_code = per_la.la_code and la_quarters.period = per_la.period
)

select * from final
