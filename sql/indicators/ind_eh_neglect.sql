-- one row per la_code × period with a child found neglected by a completed early help assessment, per 10,000
with

assessments as (
    select * from stg_la__early_help_assessments
),

-- An assessment identifies neglect when it is completed (in-progress ones have no completion
-- date and so never fall in a quarter); a child is counted once however many there were.
final as (
    select
        'EH_NEGLECT' as indicator_code,
        la_code,
        pmf_period_of(assessment_completed_date) as period,
        count(distinct child_key) as numerator,
        -- A rate: the population (indicators.toml) is the denominator.
        cast(null as bigint) as denominator,
    from assessments
    where
        neglect_identified = 'Y'
        and age_at_completion between 0 and 17
    group by all
)

select * from final
