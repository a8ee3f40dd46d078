with

    source as (select * from {{ source('salesforce', 'users') }}),

    renamed as (
        select
            id as user_id,
            username as username,
            firstname as first_name,
            lastname as last_name,
            name as full_name,
            {{ normalize_email('email') }} as email,
            title as title,
            department as department,
            coalesce(isactive, false) as is_active,
            usertype as user_type,
            timezonesidkey as time_zone,
            _deleted_at is not null as is_deleted,
            {{ to_utc('createddate') }} as created_at,
            {{ to_utc('lastmodifieddate') }} as last_modified_at,
            {{ to_utc('systemmodstamp') }} as system_modstamp_at,
            {{ to_utc('lastlogindate') }} as last_login_at,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify
            row_number() over (
                partition by user_id order by system_modstamp_at desc, loaded_at desc
            )
            = 1
    )

select *
from deduplicated
