with

    source as (select * from {{ source('zendesk', 'groups') }}),

    renamed as (
        select
            id as group_id,
            name as group_name,
            description,
            coalesce("default", false) as is_default,
            coalesce(deleted, false) or _deleted_at is not null as is_deleted,
            {{ to_utc('created_at') }} as created_at,
            {{ to_utc('updated_at') }} as updated_at,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify
            row_number() over (partition by group_id order by updated_at desc, loaded_at desc) = 1
    )

select *
from deduplicated
