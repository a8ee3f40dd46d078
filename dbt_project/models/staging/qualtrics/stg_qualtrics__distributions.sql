with

    source as (select * from {{ source('qualtrics', 'distributions') }}),

    renamed as (
        select
            surveyid || '|' || id as survey_distribution_id,
            id as distribution_id,
            surveyid as survey_id,
            parentdistributionid as parent_distribution_id,
            ownerid as owner_id,
            requeststatus as request_status,
            requesttype as request_type,
            json_extract_string(headers, '$.subject') as email_subject,
            json_extract_string(recipients, '$.mailingListId') as mailing_list_id,
            cast(json_extract(stats, '$.sent') as integer) as sent_count,
            cast(json_extract(stats, '$.failed') as integer) as failed_count,
            cast(json_extract(stats, '$.bounced') as integer) as bounced_count,
            cast(json_extract(stats, '$.opened') as integer) as opened_count,
            cast(json_extract(stats, '$.started') as integer) as started_count,
            cast(json_extract(stats, '$.finished') as integer) as finished_count,
            _deleted_at is not null as is_deleted,
            {{ to_utc('senddate') }} as sent_at,
            {{ to_utc('createddate') }} as created_at,
            {{ to_utc('modifieddate') }} as modified_at,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify
            row_number() over (
                partition by survey_distribution_id order by modified_at desc, loaded_at desc
            )
            = 1
    )

select *
from deduplicated
