with

    opportunities as (
        select
            opportunity_id,
            account_id,
            opportunity_name,
            opportunity_type,
            stage_name,
            forecast_category,
            is_closed,
            is_won,
            amount,
            probability,
            close_date,
            contract_start_date,
            contract_end_date,
            mrr,
            owner_user_id,
            lead_source,
            created_at,
            last_modified_at
        from {{ ref('stg_salesforce__opportunities') }}
        where not is_deleted
    ),

    survivors as (
        select account_id, surviving_account_id from {{ ref('int_salesforce__account_survivors') }}
    ),

    primary_contacts as (
        select opportunity_id, contact_id
        from {{ ref('stg_salesforce__opportunity_contact_roles') }}
        where not is_deleted
        qualify
            row_number() over (
                partition by opportunity_id order by is_primary desc, created_at, contact_id
            )
            = 1
    ),

    final as (
        select
            opportunities.opportunity_id,
            survivors.surviving_account_id as account_id,
            opportunities.account_id as original_account_id,
            opportunities.opportunity_name,
            opportunities.opportunity_type,
            opportunities.stage_name,
            opportunities.forecast_category,
            opportunities.is_closed,
            opportunities.is_won,
            case
                when opportunities.is_won
                then 'won'
                when opportunities.is_closed
                then 'lost'
                else 'open'
            end as outcome,
            opportunities.amount,
            opportunities.probability,
            opportunities.close_date,
            opportunities.contract_start_date,
            opportunities.contract_end_date,
            {{ dbt.datediff('opportunities.contract_start_date', 'opportunities.contract_end_date', 'month') }}
            as contract_months,
            opportunities.mrr,
            round(12 * opportunities.mrr, 2) as arr,
            opportunities.owner_user_id,
            primary_contacts.contact_id as primary_contact_id,
            opportunities.lead_source,
            opportunities.created_at,
            opportunities.last_modified_at
        from opportunities
        left join survivors on survivors.account_id = opportunities.account_id
        left join primary_contacts on primary_contacts.opportunity_id = opportunities.opportunity_id
    )

select
    opportunity_id,
    account_id,
    original_account_id,
    opportunity_name,
    opportunity_type,
    stage_name,
    forecast_category,
    is_closed,
    is_won,
    outcome,
    amount,
    probability,
    close_date,
    contract_start_date,
    contract_end_date,
    contract_months,
    mrr,
    arr,
    owner_user_id,
    primary_contact_id,
    lead_source,
    created_at,
    last_modified_at
from final
