with

    source as (select * from {{ source('qualtrics', 'surveys') }}),

    renamed as (
        select
            id as survey_id,
            name as survey_name,
            ownerid as owner_id,
            coalesce(isactive, false) as is_active,
            _deleted_at is not null as is_deleted,
            {{ to_utc('creationdate') }} as created_at,
            {{ to_utc('lastmodified') }} as last_modified_at,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify
            row_number() over (
                partition by survey_id order by last_modified_at desc, loaded_at desc
            )
            = 1
    )

select *
from deduplicated
