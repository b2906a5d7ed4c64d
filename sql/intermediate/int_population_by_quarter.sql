-- one row per la_code × quarter: the population denominators of the rate indicators
with

population as (
    select * from ref_population
),

la_quarters as (
    select * from int_la_quarters
),

-- The latest mid-year estimate not later than the calendar year of the quarter's start (contract).
chosen_year as (
    select
        la_quarters.la_code,
        la_quarters.period,
        max(population.year) as estimate_year,
    from la_quarters
    inner join population
        on
            la_quarters.la_code = population.la_code
            and population.year <= year(la_quarters.period_start)
    group by all
),

final as (
    select
        chosen_year.la_code,
        chosen_year.period,
        chosen_year.estimate_year as population_year,
        sum(population.persons) filter (where population.age between 0 and 17)::bigint as persons_0_17,
        sum(population.persons) filter (where population.age between 10 and 17)::bigint as persons_10_17,
    from chosen_year
    inner join population
        on chosen_year.la_code = population.la_code and chosen_year.estimate_year = population.year
    group by all
)

select * from final
