{#-
    Support customers per reporting month (cx-metrics.md, customer definitions): accounts
    with at least one active user that month — a product user with a qualifying event
    (var usage_qualifying_events) in a workspace linked to the account, or an end-user who
    opened a ticket for it. One row per (account, month) in which the account was a
    support customer: the denominator of tickets per 1,000 customers.
-#}
with

    workspace_links as (
        select source_id as workspace_id, account_id
        from {{ ref('int_identity__workspace_links') }}
        where resolution_status = 'matched'
    ),

    user_days as (
        select workspace_id, user_id, activity_date
        from {{ ref('int_product__user_daily_activity') }}
        where qualifying_event_count > 0
    ),

    product_activity as (
        select
            workspace_links.account_id,
            {{ reporting_month('cast(user_days.activity_date as timestamp)') }} as month_start,
            count(distinct user_days.user_id) as active_product_users
        from user_days
        inner join workspace_links on workspace_links.workspace_id = user_days.workspace_id
        group by all
    ),

    ticket_activity as (
        select
            account_id,
            created_month as month_start,
            count(distinct requester_id) as ticket_requesters,
            count(*) as tickets_created
        from {{ ref('fct_tickets') }}
        where account_id is not null
        group by all
    ),

    customers as (select account_id, segment, region, plan from {{ ref('dim_customers') }}),

    combined as (
        select
            coalesce(product_activity.account_id, ticket_activity.account_id) as account_id,
            coalesce(product_activity.month_start, ticket_activity.month_start) as month_start,
            coalesce(product_activity.active_product_users, 0) as active_product_users,
            coalesce(ticket_activity.ticket_requesters, 0) as ticket_requesters,
            coalesce(ticket_activity.tickets_created, 0) as tickets_created
        from product_activity
        full outer join
            ticket_activity
            on ticket_activity.account_id = product_activity.account_id
            and ticket_activity.month_start = product_activity.month_start
    )

select
    {{ dbt.hash("combined.account_id || '|' || cast(combined.month_start as varchar)") }}
    as support_customer_month_id,
    combined.account_id,
    combined.month_start,
    coalesce(customers.segment, 'unknown') as segment,
    coalesce(customers.region, 'unknown') as region,
    coalesce(customers.plan, 'unknown') as plan,
    combined.active_product_users,
    combined.ticket_requesters,
    combined.tickets_created
from combined
left join customers on customers.account_id = combined.account_id
