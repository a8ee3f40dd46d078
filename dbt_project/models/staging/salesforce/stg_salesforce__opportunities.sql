with

    source as (select * from {{ source('salesforce', 'opportunities') }}),

    renamed as (
        select
            id as opportunity_id,
            accountid as account_id,
            name as opportunity_name,
            stagename as stage_name,
            type as opportunity_type,
            cast(amount as double) as amount,
            probability as probability,
            closedate as close_date,
            coalesce(isclosed, false) as is_closed,
            coalesce(iswon, false) as is_won,
            forecastcategory as forecast_category,
            leadsource as lead_source,
            ownerid as owner_user_id,
            contract_start_date__c as contract_start_date,
            contract_end_date__c as contract_end_date,
            cast(mrr__c as double) as mrr,
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
                partition by opportunity_id order by system_modstamp_at desc, loaded_at desc
            )
            = 1
    )

select *
from deduplicated
