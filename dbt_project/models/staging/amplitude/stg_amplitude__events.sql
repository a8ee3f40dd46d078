{{
    config(
        materialized="incremental",
        unique_key="event_uuid",
        incremental_strategy="delete+insert",
        on_schema_change="append_new_columns",
    )
}}

with

    source as (
        select *
        from {{ source('amplitude', 'events') }}
        {% if is_incremental() %}
            where
                {{ to_utc('_loaded_at') }}
                > (select coalesce(max(loaded_at), timestamp '1900-01-01') from {{ this }})
        {% endif %}
    ),

    renamed as (
        select
            uuid as event_uuid,
            "$insert_id" as insert_id,
            event_id,
            amplitude_id,
            app as project_id,
            event_type,
            user_id,
            device_id,
            session_id,
            nullif(trim(json_extract_string(groups, '$.workspace')), '') as workspace_id,
            {{ normalize_email("json_extract_string(user_properties, '$.email')") }} as user_email,
            {{ email_domain("json_extract_string(user_properties, '$.email')") }}
            as user_email_domain,
            case
                when
                    regexp_matches(
                        json_extract_string(user_properties, '$.email'), '^[0-9a-f]{64}$'
                    )
                then json_extract_string(user_properties, '$.email')
            end as user_email_hmac,
            json_extract_string(user_properties, '$.role') as user_role,
            platform,
            os_name,
            language,
            library,
            _deleted_at is not null as is_deleted,
            {{ to_utc('event_time') }} as event_at,
            {{ to_utc('client_event_time') }} as client_event_at,
            {{ to_utc('server_upload_time') }} as server_upload_at,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify row_number() over (partition by event_uuid order by loaded_at desc) = 1
    )

select *
from deduplicated
