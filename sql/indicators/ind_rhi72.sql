-- one row per la_code × period with a child's missing episode ending: % followed by a return home interview in 72 hours
with

episodes as (
    select * from stg_la__missing_episodes
),

-- Missing (not absent) episodes count in the quarter their missing_end falls in; the child's age
-- is taken at missing_start, when the episode began.
ended_episodes as (
    select
        la_code,
        pmf_period_of(cast(missing_end as date)) as period,
        -- 72 hours on a date-only interview: no later than the 3rd day after the return date.
        coalesce(rhi_date <= cast(missing_end as date) + 3, false) as has_rhi_within_72_hours,
    from episodes
    where
        missing_or_away = 'M'
        and age_at_start between 0 and 17
),

final as (
    select
        'RHI72' as indicator_code,
        la_code,
        period,
        count(*) filter (where has_rhi_within_72_hours) as numerator,
        count(*) as denominator,
    from ended_episodes
    group by all
)

select * from final
