-- one row per la_code × quarter: the spine every indicator is reported on
with

population as (
    select * from ref_population
),

quarters as (
    select * from int_quarters
),

-- Every LA with a population estimate, plus any LA the data itself mentions.
las as (
    select la_code from population
    union
    select la_code from stg_police__da_incidents
    union
    select la_code from stg_police__missing_reports
    union
    select la_code from stg_la__cp_plans
    union
    select la_code from stg_la__cla_episodes
    union
    select la_code from stg_la__early_help_assessments
    union
    select la_code from stg_la__missing_episodes
    union
    select la_code from stg_la__vemt_screenings
    union
    select la_code from stg_health__ae_attendances
    union
    select la_code from stg_health__treatment_episodes
),

final as (
    select
        las.la_code,
        quarters.period,
        quarters.period_start,
        quarters.period_end,
        quarters.window_start,
        quarters.quarter_index,
        quarters.has_folder,
        quarters.first_received_start,
    from las
    cross join quarters
)

select * from final
