with

    source as (select * from {{ source('zendesk', 'tickets') }}),

    renamed as (
        select
            id as ticket_id,
            external_id,
            type as ticket_type,
            subject,
            priority,
            status,
            requester_id,
            submitter_id,
            assignee_id,
            organization_id,
            group_id,
            brand_id,
            cast(coalesce(tags, '[]') as varchar[]) as tags,
            json_extract_string(via, '$.channel') as via_channel,
            json_extract_string(satisfaction_rating, '$.score') as satisfaction_score,
            status = 'deleted' or _deleted_at is not null as is_deleted,
            {{ to_utc('_deleted_at') }} as deleted_at,
            {{ to_utc('due_at') }} as due_at,
            {{ to_utc('created_at') }} as created_at,
            {{ to_utc('updated_at') }} as updated_at,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify
            row_number() over (partition by ticket_id order by updated_at desc, loaded_at desc) = 1
    )

select *
from deduplicated
