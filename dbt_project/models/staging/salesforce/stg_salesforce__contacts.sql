with

    source as (select * from {{ source('salesforce', 'contacts') }}),

    renamed as (
        select
            id as contact_id,
            accountid as account_id,
            firstname as first_name,
            lastname as last_name,
            name as full_name,
            {{ normalize_email('email') }} as email,
            {{ email_domain('email') }} as email_domain,
            title as title,
            department as department,
            contact_role__c as contact_role,
            leadsource as lead_source,
            coalesce(hasoptedoutofemail, false) as has_opted_out_of_email,
            mailingcountry as mailing_country,
            ownerid as owner_user_id,
            masterrecordid as master_record_id,
            coalesce(isdeleted, false) or _deleted_at is not null as is_deleted,
            {{ to_utc('_deleted_at') }} as deleted_at,
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
                partition by contact_id order by system_modstamp_at desc, loaded_at desc
            )
            = 1
    )

select *
from deduplicated
