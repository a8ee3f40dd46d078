{#-
    Company-name aliases of every surviving Salesforce account: its own name and the names
    of duplicates merged into it, each with the candidate name key and the cleaned,
    joined name that the similarity score compares.
-#}
with

    accounts as (select account_id, account_name from {{ ref('stg_salesforce__accounts') }}),

    survivors as (
        select account_id, surviving_account_id
        from {{ ref('int_salesforce__account_survivors') }}
        where surviving_account_id is not null
    ),

    aliases as (
        select
            survivors.surviving_account_id as account_id,
            accounts.account_name as name_alias,
            survivors.account_id <> survivors.surviving_account_id as is_merged_duplicate_name
        from survivors
        inner join accounts on accounts.account_id = survivors.account_id
        where accounts.account_name is not null
    )

select distinct
    account_id,
    name_alias,
    is_merged_duplicate_name,
    {{ company_name_key('name_alias') }} as name_key,
    replace({{ company_name_tokens('name_alias') }}, ' ', '') as name_clean
from aliases
