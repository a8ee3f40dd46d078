{{
    config(
        materialized="incremental",
        unique_key="response_id",
        incremental_strategy="delete+insert",
        on_schema_change="append_new_columns",
    )
}}

with

    source as (
        select *
        from {{ source('qualtrics', 'survey_responses') }}
        {% if is_incremental() %}
            where
                {{ to_utc('_loaded_at') }}
                > (select coalesce(max(loaded_at), timestamp '1900-01-01') from {{ this }})
        {% endif %}
    ),

    renamed as (
        select
            responseid as response_id,
            surveyid as survey_id,
            {{ to_utc('recordeddate') }} as recorded_at,
            {{ to_utc("json_extract_string(\"values\", '$.startDate')") }} as started_at,
            {{ to_utc("json_extract_string(\"values\", '$.endDate')") }} as ended_at,
            cast(json_extract("values", '$.duration') as integer) as duration_seconds,
            cast(json_extract("values", '$.progress') as integer) as progress_pct,
            coalesce(
                cast(json_extract("values", '$.finished') as integer) = 1, false
            ) as is_finished,
            json_extract_string("values", '$.distributionChannel') as distribution_channel,
            json_extract_string("values", '$.userLanguage') as user_language,
            cast(json_extract("values", '$.QID1') as integer) as score,
            nullif(trim(json_extract_string("values", '$.QID2_TEXT')), '') as comment,
            {{ normalize_email("json_extract_string(\"values\", '$.recipientEmail')") }}
            as recipient_email,
            {{ email_domain("json_extract_string(\"values\", '$.recipientEmail')") }}
            as recipient_email_domain,
            nullif(
                trim(json_extract_string("values", '$.externalDataReference')), ''
            ) as external_data_reference,
            json_extract_string("values", '$.touchpoint') as touchpoint,
            cast(
                nullif(trim(json_extract_string("values", '$.ticket_id')), '') as bigint
            ) as ticket_id,
            nullif(trim(json_extract_string("values", '$.opportunity_id')), '') as opportunity_id,
            {{ to_utc("json_extract_string(\"values\", '$.interaction_at')") }} as interaction_at,
            json_extract_string("values", '$.interaction_at') as interaction_at_local,
            _deleted_at is not null as is_deleted,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify
            row_number() over (partition by response_id order by loaded_at desc, recorded_at desc)
            = 1
    )

select *
from deduplicated
