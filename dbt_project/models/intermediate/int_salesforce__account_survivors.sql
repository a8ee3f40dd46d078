{#-
    Every Salesforce account id ever seen → the surviving account that is the system of
    record for that company. A merged duplicate is soft-deleted with MasterRecordId
    pointing at the survivor (followed up to three hops, for merges of merges); a deleted
    account that was not merged has no survivor.
-#}
with

    accounts as (
        select account_id, master_record_id, is_deleted from {{ ref('stg_salesforce__accounts') }}
    ),

    hops as (
        select
            a.account_id,
            a.is_deleted,
            a.master_record_id,
            case
                when not a.is_deleted
                then a.account_id
                when not m1.is_deleted
                then m1.account_id
                when not m2.is_deleted
                then m2.account_id
                when not m3.is_deleted
                then m3.account_id
            end as surviving_account_id
        from accounts as a
        left join accounts as m1 on a.is_deleted and m1.account_id = a.master_record_id
        left join accounts as m2 on m1.is_deleted and m2.account_id = m1.master_record_id
        left join accounts as m3 on m2.is_deleted and m3.account_id = m2.master_record_id
    )

select
    account_id,
    surviving_account_id,
    is_deleted,
    is_deleted and surviving_account_id is not null as is_merged_duplicate
from hops
