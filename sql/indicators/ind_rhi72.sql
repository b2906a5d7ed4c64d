-- one row per la_code × period: % of children's missing episodes followed by a return home interview in 72 hours
with

episodes as (
    select * from stg_la__missing_episodes
),

la_quarters as (
    select * from int_la_quarters
),

-- Missing (not absent) episodes count in the quarter their missing_end falls in; the child's age
-- is taken at missing_start, when the episode began.
ended_episodes as (
    select
        la_quarters.la_code,
        la_quarters.period,
        episodes.episode_id,
        -- 72 hours on a date-only interview: no later than the 3rd day after the return date.
        coalesce(episodes.rhi_date <= cast(episodes.missing_end as date) + 3, false) as has_rhi_within_72_hours,
    from episodes
    inner join la_quarters
        on
            episodes.la_code = la_quarters.la_code
            and cast(episodes.missing_end as date) between la_quarters.period_start and la_quarters.period_end
    where
        episodes.missing_or_away = 'M'
        and episodes.age_at_start between 0 and 17
),

per_la as (
    select
        la_code,
        period,
        count(*) filter (where has_rhi_within_72_hours) as episodes_with_rhi,
        count(*) as episodes_ended,
    from ended_episodes
    group by all
),

final as (
    select
        'RHI72' as indicator_code,
        la_quarters.la_code,
        la_quarters.period,
        coalesce(per_la.episodes_with_rhi, 0) as numerator,
        coalesce(per_la.episodes_ended, 0) as denominator,
        false as history_incomplete,
    from la_quarters
    left join per_la
        on la_quarters.la_code = per_la.la_code and la_quarters.period = per_la.period
)

select * from final
