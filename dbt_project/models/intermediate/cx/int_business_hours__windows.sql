{#-
    The support team's open hours as UTC intervals, one row per schedule and local day
    (seed business_hours: time zone and weekly hours; seed business_holidays: closed days),
    over the span of the ticket events plus a week either side. Local wall-clock hours are
    converted to UTC day by day, so daylight-saving changes move the UTC window as they
    should. cumulative_seconds_before (the open seconds of every earlier window of the
    schedule) turns "business time between two instants" into one difference of a running
    total (see int_zendesk__ticket_lifecycle).
-#}
with

    schedules as (
        select
            schedule_name,
            time_zone,
            iso_day_of_week,
            cast(opens_at as time) as opens_at,
            cast(closes_at as time) as closes_at
        from {{ ref('business_hours') }}
    ),

    holidays as (select schedule_name, holiday_date from {{ ref('business_holidays') }}),

    bounds as (
        select
            cast(coalesce(min(created_at), current_date) as date) - 7 as first_date,
            cast(coalesce(max(created_at), current_date) as date) + 7 as last_date
        from {{ ref('stg_zendesk__ticket_events') }}
    ),

    days as (
        select
            cast(
                unnest(
                    generate_series(
                        cast(first_date as timestamp), cast(last_date as timestamp), interval 1 day
                    )
                ) as date
            ) as local_date
        from bounds
    ),

    local_windows as (
        select
            schedules.schedule_name,
            schedules.time_zone,
            days.local_date,
            days.local_date + schedules.opens_at as local_opens_at,
            days.local_date + schedules.closes_at as local_closes_at
        from days
        inner join schedules on schedules.iso_day_of_week = isodow(days.local_date)
        left join
            holidays
            on holidays.schedule_name = schedules.schedule_name
            and holidays.holiday_date = days.local_date
        where holidays.holiday_date is null and schedules.closes_at > schedules.opens_at
    ),

    utc_windows as (
        select
            schedule_name,
            time_zone,
            local_date,
            timezone('UTC', timezone(time_zone, local_opens_at)) as window_start_at,
            timezone('UTC', timezone(time_zone, local_closes_at)) as window_end_at
        from local_windows
    ),

    final as (
        select
            schedule_name,
            time_zone,
            local_date,
            window_start_at,
            window_end_at,
            epoch(window_end_at) - epoch(window_start_at) as window_seconds,
            coalesce(
                sum(epoch(window_end_at) - epoch(window_start_at)) over (
                    partition by schedule_name
                    order by window_start_at
                    rows between unbounded preceding and 1 preceding
                ),
                0
            ) as cumulative_seconds_before
        from utc_windows
    )

select
    {{ dbt.hash("schedule_name || '|' || cast(local_date as varchar)") }} as business_window_id,
    schedule_name,
    time_zone,
    local_date,
    window_start_at,
    window_end_at,
    window_seconds,
    cumulative_seconds_before
from final
