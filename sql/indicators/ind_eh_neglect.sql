-- one row per la_code × period: children found neglected by a completed early help assessment, per 10,000
with

assessments as (
    select * from stg_la__early_help_assessments
),

la_quarters as (
    select * from int_la_quarters
),

population as (
    select * from int_population_by_quarter
),

-- An assessment identifies neglect when it is completed (in-progress ones have no completion
-- date and so never fall in a quarter); a child is counted once however many there were.
children_identified as (
    select
        la_quarters.la_code,
        la_quarters.period,
        count(distinct assessments.child_key) as children_neglected,
    from assessments
    inner join la_quarters
        on
            assessments.la_code = la_quarters.la_code
            and assessments.assessment_completed_date between la_quarters.period_start and la_quarters.period_end
    where
        assessments.neglect_identified = 'Y'
        and assessments.age_at_completion between 0 and 17
    group by all
),

final as (
    select
        'EH_NEGLECT' as indicator_code,
        la_quarters.la_code,
        la_quarters.period,
        coalesce(children_identified.children_neglected, 0) as numerator,
        population.persons_0_17 as denominator,
        false as history_incomplete,
    from la_quarters
    left join children_identified
        on la_quarters.la_code = children_identified.la_code and la_quarters.period = children_identified.period
    left join population
        on la_quarters.la_code = population.la_code and la_quarters.period = population.period
)

select * from final
