with

    source as (select * from {{ source('salesforce', 'opportunity_contact_roles') }}),

    renamed as (
        select
            id as opportunity_contact_role_id,
            opportunityid as opportunity_id,
            contactid as contact_id,
            role as contact_role,
            coalesce(isprimary, false) as is_primary,
            coalesce(isdeleted, false) or _deleted_at is not null as is_deleted,
            {{ to_utc('createddate') }} as created_at,
            {{ to_utc('lastmodifieddate') }} as last_modified_at,
            {{ to_utc('systemmodstamp') }} as system_modstamp_at,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify
            row_number() over (
                partition by opportunity_contact_role_id
                order by system_modstamp_at desc, loaded_at desc
            )
            = 1
    )

select *
from deduplicated
