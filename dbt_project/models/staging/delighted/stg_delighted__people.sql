with

    source as (select * from {{ source('delighted', 'people') }}),

    renamed as (
        select
            id as person_id,
            name as full_name,
            {{ normalize_email('email') }} as email,
            {{ email_domain('email') }} as email_domain,
            _deleted_at is not null as is_deleted,
            {{ to_utc('created_at') }} as created_at,
            {{ to_utc('last_sent_at') }} as last_sent_at,
            {{ to_utc('last_responded_at') }} as last_responded_at,
            {{ to_utc('next_survey_scheduled_at') }} as next_survey_scheduled_at,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify
            row_number() over (
                partition by person_id order by last_responded_at desc nulls last, loaded_at desc
            )
            = 1
    )

select *
from deduplicated
