-- one row per la_code × quarter × age: the population estimate a rate in the quarter is taken over
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
        population.age,
        population.persons,
    from chosen_year
    inner join population
        on chosen_year.la_code = population.la_code and chosen_year.estimate_year = population.year
)

select * from final
