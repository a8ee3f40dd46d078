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
        from {{ source('delighted', 'survey_responses') }}
        {% if is_incremental() %}
            where
                {{ to_utc('_loaded_at') }}
                > (select coalesce(max(loaded_at), timestamp '1900-01-01') from {{ this }})
        {% endif %}
    ),

    renamed as (
        select
            id as response_id,
            json_extract_string(person, '$.id') as person_id,
            {{ normalize_email("json_extract_string(person, '$.email')") }} as person_email,
            {{ email_domain("json_extract_string(person, '$.email')") }} as person_email_domain,
            survey_type,
            score,
            nullif(trim(comment), '') as comment,
            permalink,
            json_extract_string(person_properties, '$."Survey Program"') as survey_program,
            json_extract_string(person_properties, '$."Delighted Source"') as delighted_source,
            nullif(
                trim(json_extract_string(person_properties, '$."Workspace ID"')), ''
            ) as workspace_id,
            json_extract_string(person_properties, '$."Plan"') as plan,
            json_extract_string(person_properties, '$."Role"') as role,
            json_extract_string(person_properties, '$."Feature"') as feature,
            cast(coalesce(tags, '[]') as varchar[]) as tags,
            cast(json_array_length(coalesce(notes, '[]')) as integer) as note_count,
            _deleted_at is not null as is_deleted,
            {{ to_utc('created_at') }} as created_at,
            {{ to_utc('updated_at') }} as updated_at,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify
            row_number() over (partition by response_id order by updated_at desc, loaded_at desc)
            = 1
    )

select *
from deduplicated
