{#-
    Closed-won opportunities as contract terms on the surviving account: MRR__c in force
    from the contract start date (inclusive) to the end date (exclusive: a renewal starts
    on the day the previous term ends). Expansions are terms of their own that add their
    MRR delta for the rest of the current term.
-#}
with

    survivors as (
        select account_id, surviving_account_id
        from {{ ref('int_salesforce__account_survivors') }}
        where surviving_account_id is not null
    )

select
    opportunities.opportunity_id,
    survivors.surviving_account_id as account_id,
    opportunities.opportunity_type,
    opportunities.close_date,
    opportunities.contract_start_date,
    opportunities.contract_end_date,
    round(opportunities.mrr, 2) as mrr
from {{ ref('stg_salesforce__opportunities') }} as opportunities
inner join survivors on survivors.account_id = opportunities.account_id
where
    not opportunities.is_deleted
    and opportunities.is_closed
    and opportunities.is_won
    and opportunities.mrr > 0
    and opportunities.contract_start_date is not null
    and opportunities.contract_end_date > opportunities.contract_start_date
