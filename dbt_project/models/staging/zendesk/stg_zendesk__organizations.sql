with

    source as (select * from {{ source('zendesk', 'organizations') }}),

    renamed as (
        select
            id as organization_id,
            name as organization_name,
            cast(coalesce(domain_names, '[]') as varchar[]) as domain_names,
            nullif(trim(external_id), '') as external_id,
            group_id,
            coalesce(shared_tickets, false) as has_shared_tickets,
            coalesce(shared_comments, false) as has_shared_comments,
            cast(coalesce(tags, '[]') as varchar[]) as tags,
            json_extract_string(organization_fields, '$.plan') as plan,
            notes,
            deleted_at is not null or _deleted_at is not null as is_deleted,
            {{ to_utc('coalesce(deleted_at, _deleted_at)') }} as deleted_at,
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
                partition by organization_id order by updated_at desc, loaded_at desc
            )
            = 1
    )

select *
from deduplicated
