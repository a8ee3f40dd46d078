{#-
    Why the three teams' customer counts differ: one row per definition with its count and
    how many of those customers the other two definitions also count, plus the MRR behind
    each. Marketing counts every account (prospects included), accounting counts accounts
    paying above var('billing_customer_min_mrr'), support counts accounts with at least one
    active user who can open tickets (free, trial and paying).
-#}
with

    customers as (
        select
            account_id,
            is_marketing_customer,
            is_billing_customer,
            is_support_customer,
            mrr,
            as_of_date
        from {{ ref('dim_customers') }}
    ),

    definitions as (
        select
            'marketing' as customer_definition,
            1 as sort_order,
            'Any account in Salesforce, prospects included (is_marketing_customer).' as definition
        union all
        select
            'billing',
            2,
            'MRR above '
            || '{{ var("billing_customer_min_mrr") }}'
            || ' on the reporting date, from closed-won contracts (is_billing_customer).'
        union all
        select
            'support',
            3,
            'At least one active, non-suspended Zendesk end-user resolved to the account '
            || '(is_support_customer).'
    ),

    flagged as (
        select
            definitions.customer_definition,
            definitions.sort_order,
            definitions.definition,
            customers.account_id,
            customers.is_marketing_customer,
            customers.is_billing_customer,
            customers.is_support_customer,
            customers.mrr,
            customers.as_of_date
        from definitions
        inner join
            customers
            on (definitions.customer_definition = 'marketing' and customers.is_marketing_customer)
            or (definitions.customer_definition = 'billing' and customers.is_billing_customer)
            or (definitions.customer_definition = 'support' and customers.is_support_customer)
    ),

    counted as (
        select
            definitions.customer_definition,
            definitions.sort_order,
            definitions.definition,
            count(flagged.account_id) as customer_count,
            count(flagged.account_id) filter (
                where flagged.is_marketing_customer
            ) as also_marketing_count,
            count(flagged.account_id) filter (
                where flagged.is_billing_customer
            ) as also_billing_count,
            count(flagged.account_id) filter (
                where flagged.is_support_customer
            ) as also_support_count,
            count(flagged.account_id) filter (
                where
                    flagged.is_marketing_customer
                    and flagged.is_billing_customer
                    and flagged.is_support_customer
            ) as in_all_three_count,
            count(flagged.account_id) filter (
                where
                    cast(flagged.is_marketing_customer as integer)
                    + cast(flagged.is_billing_customer as integer)
                    + cast(flagged.is_support_customer as integer)
                    = 1
            ) as only_this_definition_count,
            coalesce(round(sum(flagged.mrr), 2), 0) as mrr
        from definitions
        left join flagged on flagged.customer_definition = definitions.customer_definition
        group by definitions.customer_definition, definitions.sort_order, definitions.definition
    ),

    reporting as (select as_of_date from {{ ref('int_reporting_date') }})

select
    counted.customer_definition,
    counted.sort_order,
    counted.definition,
    counted.customer_count,
    counted.also_marketing_count,
    counted.also_billing_count,
    counted.also_support_count,
    counted.in_all_three_count,
    counted.only_this_definition_count,
    counted.customer_count - counted.also_billing_count as not_billing_count,
    counted.customer_count - counted.also_support_count as not_support_count,
    counted.mrr,
    reporting.as_of_date
from counted
cross join reporting
