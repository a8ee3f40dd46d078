{{
    config(
        materialized="incremental",
        unique_key="ticket_event_id",
        incremental_strategy="delete+insert",
        on_schema_change="append_new_columns",
    )
}}

with

    source as (
        select *
        from {{ source('zendesk', 'ticket_events') }}
        {% if is_incremental() %}
            where
                {{ to_utc('_loaded_at') }}
                > (select coalesce(max(loaded_at), timestamp '1900-01-01') from {{ this }})
        {% endif %}
    ),

    renamed as (
        select
            id as ticket_event_id,
            ticket_id,
            updater_id,
            event_type,
            json_extract_string(via, '$.channel') as via_channel,
            child_events,
            cast(json_array_length(coalesce(child_events, '[]')) as integer) as child_event_count,
            _deleted_at is not null as is_deleted,
            {{ to_utc('created_at') }} as created_at,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify row_number() over (partition by ticket_event_id order by loaded_at desc) = 1
    )

select *
from deduplicated
