{#-
    Normalised e-mail address → the surviving account of the Salesforce contacts that
    carry it (deleted contacts included: they still say where the person worked). An
    address on contacts of several accounts is ambiguous.
-#}
with

    contacts as (
        select contact_id, account_id, email, is_deleted
        from {{ ref('stg_salesforce__contacts') }}
        where email is not null
    ),

    survivors as (
        select account_id, surviving_account_id from {{ ref('int_salesforce__account_survivors') }}
    ),

    resolved as (
        select contacts.email, survivors.surviving_account_id as account_id, contacts.contact_id
        from contacts
        inner join survivors on survivors.account_id = contacts.account_id
        where survivors.surviving_account_id is not null
    )

select
    email,
    case when count(distinct account_id) = 1 then min(account_id) end as account_id,
    count(distinct account_id) as account_count,
    count(distinct account_id) > 1 as is_ambiguous,
    list_sort(list_distinct(list(contact_id))) as contact_ids
from resolved
group by email
