with

    reporting as (select as_of_date from {{ ref('int_reporting_date') }}),

    accounts as (
        select
            account_id,
            account_name,
            account_type,
            lifecycle_stage,
            segment,
            region,
            billing_country,
            industry,
            plan,
            seats,
            owner_user_id,
            parent_account_id,
            website_host,
            customer_since_date,
            renewal_date,
            created_at
        from {{ ref('stg_salesforce__accounts') }}
        where not is_deleted
    ),

    owners as (select user_id, full_name from {{ ref('stg_salesforce__users') }}),

    survivors as (
        select account_id, surviving_account_id
        from {{ ref('int_salesforce__account_survivors') }}
        where is_merged_duplicate
    ),

    merged_duplicates as (
        select surviving_account_id as account_id, list_sort(list(account_id)) as merged_account_ids
        from survivors
        group by surviving_account_id
    ),

    website_domains as (
        select accounts.account_id, domains.registered_domain
        from accounts
        inner join
            {{ ref('int_identity__domains') }} as domains on domains.host = accounts.website_host
    ),

    organizations as (
        select
            account_id,
            list_sort(list(cast(source_id as bigint))) as zendesk_organization_ids,
            count(*) as zendesk_organization_count
        from {{ ref('int_identity__zendesk_organization_links') }}
        where resolution_status = 'matched'
        group by account_id
    ),

    workspaces as (
        select account_id, list_sort(list(source_id)) as workspace_ids, count(*) as workspace_count
        from {{ ref('int_identity__workspace_links') }}
        where resolution_status = 'matched'
        group by account_id
    ),

    current_mrr as (
        select monthly.account_id, monthly.mrr
        from {{ ref('int_account_mrr_monthly') }} as monthly
        inner join reporting on monthly.snapshot_date = reporting.as_of_date
    ),

    support_users as (
        select links.account_id, count(*) as active_support_user_count
        from {{ ref('int_identity__zendesk_user_links') }} as links
        inner join
            {{ ref('stg_zendesk__users') }} as users
            on cast(users.user_id as varchar) = links.source_id
        cross join reporting
        where
            links.resolution_status = 'matched'
            and users.is_active
            and not users.is_suspended
            and not users.is_deleted
            and cast(users.created_at as date) <= reporting.as_of_date
        group by links.account_id
    ),

    final as (
        select
            accounts.account_id,
            accounts.account_name,
            website_domains.registered_domain as website_domain,
            accounts.account_type,
            accounts.lifecycle_stage,
            accounts.segment,
            accounts.region,
            accounts.billing_country as country,
            accounts.industry,
            accounts.plan,
            accounts.seats,
            accounts.owner_user_id,
            owners.full_name as owner_name,
            accounts.parent_account_id,
            coalesce(merged_duplicates.merged_account_ids, []) as merged_account_ids,
            coalesce(organizations.zendesk_organization_ids, []) as zendesk_organization_ids,
            coalesce(organizations.zendesk_organization_count, 0) as zendesk_organization_count,
            coalesce(workspaces.workspace_ids, []) as workspace_ids,
            coalesce(workspaces.workspace_count, 0) as workspace_count,
            accounts.customer_since_date,
            accounts.renewal_date,
            coalesce(current_mrr.mrr, 0) as mrr,
            round(12 * coalesce(current_mrr.mrr, 0), 2) as arr,
            coalesce(support_users.active_support_user_count, 0) as active_support_user_count,
            cast(accounts.created_at as date) <= reporting.as_of_date as is_marketing_customer,
            coalesce(current_mrr.mrr, 0)
            > {{ var('billing_customer_min_mrr') }} as is_billing_customer,
            coalesce(support_users.active_support_user_count, 0) > 0 as is_support_customer,
            accounts.created_at,
            reporting.as_of_date
        from accounts
        cross join reporting
        left join owners on owners.user_id = accounts.owner_user_id
        left join merged_duplicates on merged_duplicates.account_id = accounts.account_id
        left join website_domains on website_domains.account_id = accounts.account_id
        left join organizations on organizations.account_id = accounts.account_id
        left join workspaces on workspaces.account_id = accounts.account_id
        left join current_mrr on current_mrr.account_id = accounts.account_id
        left join support_users on support_users.account_id = accounts.account_id
    )

select
    account_id,
    account_name,
    website_domain,
    account_type,
    lifecycle_stage,
    segment,
    region,
    country,
    industry,
    plan,
    seats,
    owner_user_id,
    owner_name,
    parent_account_id,
    merged_account_ids,
    zendesk_organization_ids,
    zendesk_organization_count,
    workspace_ids,
    workspace_count,
    customer_since_date,
    renewal_date,
    mrr,
    arr,
    active_support_user_count,
    is_marketing_customer,
    is_billing_customer,
    is_support_customer,
    created_at,
    as_of_date
from final
