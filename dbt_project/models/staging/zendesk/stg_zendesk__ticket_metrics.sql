with

    source as (select * from {{ source('zendesk', 'ticket_metrics') }}),

    renamed as (
        select
            id as ticket_metric_id,
            ticket_id,
            reopens as reopen_count,
            replies as reply_count,
            assignee_stations as assignee_station_count,
            group_stations as group_station_count,
            cast(
                json_extract(reply_time_in_minutes, '$.calendar') as bigint
            ) as first_reply_calendar_minutes,
            cast(
                json_extract(reply_time_in_minutes, '$.business') as bigint
            ) as first_reply_business_minutes,
            cast(
                json_extract(first_resolution_time_in_minutes, '$.calendar') as bigint
            ) as first_resolution_calendar_minutes,
            cast(
                json_extract(first_resolution_time_in_minutes, '$.business') as bigint
            ) as first_resolution_business_minutes,
            cast(
                json_extract(full_resolution_time_in_minutes, '$.calendar') as bigint
            ) as full_resolution_calendar_minutes,
            cast(
                json_extract(full_resolution_time_in_minutes, '$.business') as bigint
            ) as full_resolution_business_minutes,
            {{ to_utc('assigned_at') }} as assigned_at,
            {{ to_utc('initially_assigned_at') }} as initially_assigned_at,
            {{ to_utc('solved_at') }} as solved_at,
            {{ to_utc('status_updated_at') }} as status_updated_at,
            {{ to_utc('latest_comment_added_at') }} as latest_comment_added_at,
            _deleted_at is not null as is_deleted,
            {{ to_utc('created_at') }} as created_at,
            {{ to_utc('updated_at') }} as updated_at,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify
            row_number() over (
                partition by ticket_metric_id order by updated_at desc, loaded_at desc
            )
            = 1
    )

select *
from deduplicated
