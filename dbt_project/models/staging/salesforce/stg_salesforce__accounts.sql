with

    source as (select * from {{ source('salesforce', 'accounts') }}),

    renamed as (
        select
            id as account_id,
            name as account_name,
            type as account_type,
            parentid as parent_account_id,
            masterrecordid as master_record_id,
            industry as industry,
            cast(annualrevenue as double) as annual_revenue,
            numberofemployees as employee_count,
            website as website,
            {{ website_host('website') }} as website_host,
            billingcity as billing_city,
            billingcountry as billing_country,
            ownerid as owner_user_id,
            accountsource as account_source,
            segment__c as segment,
            region__c as region,
            plan__c as plan,
            lifecycle_stage__c as lifecycle_stage,
            product_workspace_id__c as workspace_id,
            cast(monthly_spend__c as double) as monthly_spend,
            seats__c as seats,
            customer_since__c as customer_since_date,
            renewal_date__c as renewal_date,
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
                partition by account_id order by system_modstamp_at desc, loaded_at desc
            )
            = 1
    )

select *
from deduplicated
