-- one row per financial-year quarter from the earliest to the latest period folder received
with

folders as (
    select * from period_folders
),

bounds as (
    select
        min(period_start) as first_start,
        max(period_start) as last_start,
    from folders
),

spine as (
    select unnest(generate_series(first_start, last_start, interval 3 month))::date as period_start
    from bounds
),

final as (
    select
        pmf_period_of(spine.period_start) as period,
        spine.period_start,
        (spine.period_start + interval 3 month - interval 1 day)::date as period_end,
        -- Rolling 12 months ending at the quarter = the four quarters q-3 .. q (contract).
        (spine.period_start - interval 9 month)::date as window_start,
        row_number() over (order by spine.period_start) as quarter_index,
        folders.period_start is not null as has_folder,
        bounds.first_start as first_received_start,
    from spine
    cross join bounds
    left join folders on spine.period_start = folders.period_start
)

select * from final
