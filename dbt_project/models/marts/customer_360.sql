{#-
    One row per customer (dim_customers), everything a CX manager checks before a call,
    measured on the reporting date (int_reporting_date). Windows end on the reporting date
    inclusive; "last 30 days" is the reporting date and the 29 days before it.
-#}
with

    reporting as (
        select as_of_date, as_of_month, as_of_end_at from {{ ref('int_reporting_date') }}
    ),

    customers as (
        select
            account_id,
            account_name,
            segment,
            region,
            plan,
            lifecycle_stage,
            owner_user_id,
            owner_name,
            is_marketing_customer,
            is_billing_customer,
            is_support_customer,
            mrr,
            arr,
            renewal_date
        from {{ ref('dim_customers') }}
    ),

    revenue as (
        select account_id, revenue_month, arr from {{ ref('fct_account_revenue_monthly') }}
    ),

    contracts as (
        select account_id, contract_start_date, contract_end_date
        from {{ ref('int_salesforce__contracts') }}
    ),

    opportunities as (select account_id, close_date, is_won from {{ ref('fct_opportunities') }}),

    survey_responses as (
        select
            account_id, survey_program, score, nps_code, nps_category, is_top_two_box, responded_at
        from {{ ref('int_survey_responses') }}
        where account_id is not null
    ),

    ticket_accounts as (
        select ticket_id, account_id
        from {{ ref('int_zendesk__ticket_accounts') }}
        where account_id is not null
    ),

    tickets as (
        select ticket_id, status, created_at
        from {{ ref('stg_zendesk__tickets') }}
        where not is_deleted
    ),

    ticket_metrics as (
        select ticket_id, solved_at, full_resolution_calendar_minutes
        from {{ ref('stg_zendesk__ticket_metrics') }}
        where not is_deleted
    ),

    satisfaction_ratings as (
        select ticket_id, is_satisfied, updated_at
        from {{ ref('stg_zendesk__satisfaction_ratings') }}
        where is_response and not is_deleted
    ),

    workspace_links as (
        select source_id as workspace_id, account_id
        from {{ ref('int_identity__workspace_links') }}
        where resolution_status = 'matched'
    ),

    user_days as (
        select
            workspace_id, user_id, activity_date, event_count, qualifying_event_count, last_event_at
        from {{ ref('int_product__user_daily_activity') }}
    ),

    health as (
        select health.account_id, health.health_score, health.health_band, health.revenue_at_risk
        from {{ ref('mart_account_health_daily') }} as health
        inner join reporting on health.health_date = reporting.as_of_date
    ),

    arr_history as (
        select
            revenue.account_id,
            max(revenue.arr) filter (
                where revenue.revenue_month = cast(reporting.as_of_month - interval 3 month as date)
            ) as arr_3_months_ago,
            max(revenue.arr) filter (
                where
                    revenue.revenue_month = cast(reporting.as_of_month - interval 12 month as date)
            ) as arr_12_months_ago
        from revenue
        cross join reporting
        group by revenue.account_id
    ),

    renewals as (
        select contracts.account_id, min(contracts.contract_end_date) as next_renewal_date
        from contracts
        cross join reporting
        where
            contracts.contract_start_date <= reporting.as_of_date
            and reporting.as_of_date < contracts.contract_end_date
        group by contracts.account_id
    ),

    sales_activity as (
        select account_id, max(close_date) as last_closed_won_date
        from opportunities
        cross join reporting
        where is_won and close_date <= reporting.as_of_date
        group by account_id
    ),

    responses_to_date as (
        select
            survey_responses.account_id,
            survey_responses.survey_program,
            survey_responses.score,
            survey_responses.nps_code,
            survey_responses.nps_category,
            survey_responses.is_top_two_box,
            survey_responses.responded_at
        from survey_responses
        cross join reporting
        where survey_responses.responded_at < reporting.as_of_end_at
    ),

    latest_nps as (
        select
            account_id,
            score as latest_nps_score,
            nps_category as latest_nps_category,
            responded_at as latest_nps_at
        from responses_to_date
        where survey_program = 'nps'
        qualify row_number() over (partition by account_id order by responded_at desc) = 1
    ),

    survey_summary as (
        select
            responses_to_date.account_id,
            count(*) filter (
                where
                    responses_to_date.survey_program = 'nps'
                    and responses_to_date.responded_at
                    >= reporting.as_of_end_at - interval {{ var('nps_window_days') }} day
            ) as nps_responses_last_365_days,
            round(
                100 * avg(responses_to_date.nps_code) filter (
                    where
                        responses_to_date.survey_program = 'nps'
                        and responses_to_date.responded_at
                        >= reporting.as_of_end_at - interval {{ var('nps_window_days') }} day
                ),
                1
            ) as nps_last_365_days,
            count(*) filter (
                where
                    responses_to_date.survey_program = 'csat'
                    and responses_to_date.responded_at
                    >= reporting.as_of_end_at - interval {{ var('csat_window_days') }} day
            ) as csat_survey_responses,
            count(*) filter (
                where
                    responses_to_date.survey_program = 'csat'
                    and responses_to_date.is_top_two_box
                    and responses_to_date.responded_at
                    >= reporting.as_of_end_at - interval {{ var('csat_window_days') }} day
            ) as csat_survey_satisfied,
            max(responses_to_date.responded_at) as last_survey_response_at
        from responses_to_date
        cross join reporting
        group by responses_to_date.account_id
    ),

    ratings as (
        select
            ticket_accounts.account_id,
            count(*) filter (
                where
                    satisfaction_ratings.updated_at
                    >= reporting.as_of_end_at - interval {{ var('csat_window_days') }} day
            ) as csat_ratings,
            count(*) filter (
                where
                    satisfaction_ratings.is_satisfied
                    and satisfaction_ratings.updated_at
                    >= reporting.as_of_end_at - interval {{ var('csat_window_days') }} day
            ) as csat_ratings_satisfied,
            max(satisfaction_ratings.updated_at) as last_satisfaction_rating_at
        from satisfaction_ratings
        inner join ticket_accounts on ticket_accounts.ticket_id = satisfaction_ratings.ticket_id
        cross join reporting
        where satisfaction_ratings.updated_at < reporting.as_of_end_at
        group by ticket_accounts.account_id
    ),

    ticket_summary as (
        select
            ticket_accounts.account_id,
            count(*) filter (
                where tickets.status in ('new', 'open', 'pending', 'hold')
            ) as open_ticket_count,
            count(*) filter (
                where
                    tickets.created_at
                    >= reporting.as_of_end_at - interval {{ var('recent_ticket_window_days') }} day
            ) as tickets_created_last_30_days,
            median(ticket_metrics.full_resolution_calendar_minutes) filter (
                where
                    ticket_metrics.solved_at
                    >= reporting.as_of_end_at - interval {{ var('resolution_window_days') }} day
                    and ticket_metrics.solved_at < reporting.as_of_end_at
            ) as median_full_resolution_minutes_last_90_days,
            max(tickets.created_at) as last_ticket_at
        from tickets
        inner join ticket_accounts on ticket_accounts.ticket_id = tickets.ticket_id
        left join ticket_metrics on ticket_metrics.ticket_id = tickets.ticket_id
        cross join reporting
        where tickets.created_at < reporting.as_of_end_at
        group by ticket_accounts.account_id
    ),

    usage as (
        select
            workspace_links.account_id,
            count(distinct user_days.user_id) filter (
                where
                    user_days.qualifying_event_count > 0
                    and user_days.activity_date
                    > reporting.as_of_date - {{ var('usage_window_days') }}
            ) as active_users_last_30_days,
            count(distinct user_days.user_id) filter (
                where
                    user_days.qualifying_event_count > 0
                    and user_days.activity_date
                    <= reporting.as_of_date - {{ var('usage_window_days') }}
                    and user_days.activity_date
                    > reporting.as_of_date - 2 * {{ var('usage_window_days') }}
            ) as active_users_previous_30_days,
            cast(
                coalesce(
                    sum(user_days.event_count) filter (
                        where
                            user_days.activity_date
                            > reporting.as_of_date - {{ var('usage_window_days') }}
                    ),
                    0
                ) as bigint
            ) as events_last_30_days,
            cast(
                coalesce(
                    sum(user_days.event_count) filter (
                        where
                            user_days.activity_date
                            <= reporting.as_of_date - {{ var('usage_window_days') }}
                            and user_days.activity_date
                            > reporting.as_of_date - 2 * {{ var('usage_window_days') }}
                    ),
                    0
                ) as bigint
            ) as events_previous_30_days,
            max(user_days.last_event_at) as last_product_event_at
        from user_days
        inner join workspace_links on workspace_links.workspace_id = user_days.workspace_id
        cross join reporting
        where user_days.activity_date <= reporting.as_of_date
        group by workspace_links.account_id
    ),

    final as (
        select
            customers.account_id,
            customers.account_name,
            customers.segment,
            customers.region,
            customers.plan,
            customers.lifecycle_stage,
            customers.owner_user_id,
            customers.owner_name,
            customers.is_marketing_customer,
            customers.is_billing_customer,
            customers.is_support_customer,
            customers.mrr,
            customers.arr,
            coalesce(arr_history.arr_3_months_ago, 0) as arr_3_months_ago,
            coalesce(arr_history.arr_12_months_ago, 0) as arr_12_months_ago,
            round(
                customers.arr - coalesce(arr_history.arr_3_months_ago, 0), 2
            ) as arr_change_3_months,
            case
                when customers.arr = 0 and coalesce(arr_history.arr_3_months_ago, 0) = 0
                then 'none'
                when coalesce(arr_history.arr_3_months_ago, 0) = 0
                then 'new'
                when customers.arr = 0
                then 'churned'
                when customers.arr > arr_history.arr_3_months_ago
                then 'growing'
                when customers.arr < arr_history.arr_3_months_ago
                then 'declining'
                else 'stable'
            end as arr_trend,
            coalesce(renewals.next_renewal_date, customers.renewal_date) as renewal_date,
            {{ dbt.datediff('reporting.as_of_date', 'coalesce(renewals.next_renewal_date, customers.renewal_date)', 'day') }}
            as days_to_renewal,
            latest_nps.latest_nps_score,
            latest_nps.latest_nps_category,
            latest_nps.latest_nps_at,
            coalesce(survey_summary.nps_responses_last_365_days, 0) as nps_responses_last_365_days,
            survey_summary.nps_last_365_days,
            coalesce(ratings.csat_ratings, 0)
            + coalesce(survey_summary.csat_survey_responses, 0) as csat_responses_last_90_days,
            round(
                100.0 * (
                    coalesce(ratings.csat_ratings_satisfied, 0)
                    + coalesce(survey_summary.csat_survey_satisfied, 0)
                )
                / nullif(
                    coalesce(ratings.csat_ratings, 0)
                    + coalesce(survey_summary.csat_survey_responses, 0),
                    0
                ),
                1
            ) as csat_pct_last_90_days,
            coalesce(ticket_summary.open_ticket_count, 0) as open_ticket_count,
            coalesce(
                ticket_summary.tickets_created_last_30_days, 0
            ) as tickets_created_last_30_days,
            ticket_summary.median_full_resolution_minutes_last_90_days,
            coalesce(usage.active_users_last_30_days, 0) as active_users_last_30_days,
            coalesce(usage.active_users_previous_30_days, 0) as active_users_previous_30_days,
            round(
                usage.active_users_last_30_days / nullif(usage.active_users_previous_30_days, 0)
                - 1,
                3
            ) as usage_trend,
            coalesce(usage.events_last_30_days, 0) as events_last_30_days,
            coalesce(usage.events_previous_30_days, 0) as events_previous_30_days,
            ticket_summary.last_ticket_at,
            ratings.last_satisfaction_rating_at,
            survey_summary.last_survey_response_at,
            usage.last_product_event_at,
            sales_activity.last_closed_won_date,
            greatest(
                ticket_summary.last_ticket_at,
                ratings.last_satisfaction_rating_at,
                survey_summary.last_survey_response_at,
                usage.last_product_event_at,
                cast(sales_activity.last_closed_won_date as timestamp)
            ) as last_activity_at,
            health.health_score,
            health.health_band,
            coalesce(health.revenue_at_risk, 0) as revenue_at_risk,
            reporting.as_of_date
        from customers
        cross join reporting
        left join arr_history on arr_history.account_id = customers.account_id
        left join renewals on renewals.account_id = customers.account_id
        left join latest_nps on latest_nps.account_id = customers.account_id
        left join survey_summary on survey_summary.account_id = customers.account_id
        left join ratings on ratings.account_id = customers.account_id
        left join ticket_summary on ticket_summary.account_id = customers.account_id
        left join usage on usage.account_id = customers.account_id
        left join sales_activity on sales_activity.account_id = customers.account_id
        left join health on health.account_id = customers.account_id
    )

select
    account_id,
    account_name,
    segment,
    region,
    plan,
    lifecycle_stage,
    owner_user_id,
    owner_name,
    is_marketing_customer,
    is_billing_customer,
    is_support_customer,
    mrr,
    arr,
    arr_3_months_ago,
    arr_12_months_ago,
    arr_change_3_months,
    arr_trend,
    renewal_date,
    days_to_renewal,
    latest_nps_score,
    latest_nps_category,
    latest_nps_at,
    nps_responses_last_365_days,
    nps_last_365_days,
    csat_responses_last_90_days,
    csat_pct_last_90_days,
    open_ticket_count,
    tickets_created_last_30_days,
    median_full_resolution_minutes_last_90_days,
    active_users_last_30_days,
    active_users_previous_30_days,
    usage_trend,
    events_last_30_days,
    events_previous_30_days,
    last_ticket_at,
    last_satisfaction_rating_at,
    last_survey_response_at,
    last_product_event_at,
    last_closed_won_date,
    last_activity_at,
    health_score,
    health_band,
    revenue_at_risk,
    as_of_date
from final
