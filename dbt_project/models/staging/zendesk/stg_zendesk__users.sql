with

    source as (select * from {{ source('zendesk', 'users') }}),

    renamed as (
        select
            id as user_id,
            name as full_name,
            {{ normalize_email('email') }} as email,
            {{ email_domain('email') }} as email_domain,
            role,
            organization_id,
            default_group_id,
            coalesce(active, false) as is_active,
            coalesce(verified, false) as is_verified,
            coalesce(suspended, false) as is_suspended,
            coalesce(iana_time_zone, time_zone) as time_zone,
            locale,
            cast(coalesce(tags, '[]') as varchar[]) as tags,
            external_id,
            _deleted_at is not null as is_deleted,
            {{ to_utc('_deleted_at') }} as deleted_at,
            {{ to_utc('created_at') }} as created_at,
            {{ to_utc('updated_at') }} as updated_at,
            {{ to_utc('last_login_at') }} as last_login_at,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify
            row_number() over (partition by user_id order by updated_at desc, loaded_at desc) = 1
    )

select *
from deduplicated
