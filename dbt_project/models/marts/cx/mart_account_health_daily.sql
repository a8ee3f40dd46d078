{#-
    The account health score per account and day (cx-metrics.md, health score), for the
    var health_history_days (default 180) days up to the reporting date, for accounts
    that pay (MRR > 0) or have product users active in the last 90 days that day.

    Every component is a column scored 0–100 (higher = healthier):
    - usage = mean of usage_trend_score (50 + 50 × usage trend, where usage trend = active
      users last 30 days ÷ previous 30 days − 1, clipped 0–100; new usage from nothing =
      100) and usage_breadth_score (active users last 30 days ÷ active users last 90 days).
    - support = mean of support_burden_score (100 × (1 − tickets last 30 days per active
      user ÷ var health_tickets_per_user_ceiling), floored at 0) and support_speed_score
      (mean full resolution hours of tickets resolved in the last 90 days: ≤ var
      health_resolution_target_hours → 100, ≥ 5× it → 0, linear between; none → 100).
    - sentiment = mean of the available signals: NPS (50 + 50 × mean +1/0/−1 code of the
      account's NPS responses in the last 365 days), CSAT (% satisfied of the last 90 days'
      CSAT responses and ratings), comment sentiment (50 + 50 × mean VADER compound of the
      last 90 days' survey comments); 50 when there is none (has_sentiment_signal false).
    - commercial = mean of contraction_score (MRR ÷ MRR 90 days earlier, capped at 100; 100
      when there was none) and renewal_score (renewal further than var
      health_renewal_horizon_days or none → 100, linearly down to 50 on the renewal day).
    health_score = Σ weight × component ÷ Σ weights (var health_weights: usage 0.35, support
    0.2, sentiment 0.25, commercial 0.2). Band: at_risk < var health_at_risk_below (40) ≤
    neutral < var health_growth_from (70) ≤ growth. revenue_at_risk = ARR when at risk.

    Rolling windows are differences of per-account running totals read with ASOF joins at
    the day and 30 / 90 / 365 days before, so only the reported days (plus 30 for the
    trend) are materialised, whatever the window lengths.
-#}
{%- set weights = cx_var('health_weights') -%}
{%- set history_days = cx_var('health_history_days') | int -%}
{#- Scores are computed for 30 extra days so the first reported day has a 30-day trend. -#}
{%- set spine_days = history_days + 30 -%}

with

    reporting as (select as_of_date from {{ ref('int_reporting_date') }}),

    customers as (select account_id from {{ ref('dim_customers') }}),

    contracts as (
        select account_id, contract_start_date, contract_end_date, mrr
        from {{ ref('int_salesforce__contracts') }}
    ),

    workspace_links as (
        select source_id as workspace_id, account_id
        from {{ ref('int_identity__workspace_links') }}
        where resolution_status = 'matched'
    ),

    user_days as (
        select workspace_links.account_id, user_days.user_id, user_days.activity_date
        from {{ ref('int_product__user_daily_activity') }} as user_days
        inner join workspace_links on workspace_links.workspace_id = user_days.workspace_id
        where user_days.qualifying_event_count > 0
        group by all
    ),

    tickets as (
        select account_id, created_at, full_resolved_at, full_resolution_calendar_minutes
        from {{ ref('fct_tickets') }}
        where account_id is not null
    ),

    responses as (
        select account_id, survey_type, nps_code, is_satisfied, comment_sentiment, responded_at
        from {{ ref('fct_survey_responses') }}
        where account_id is not null
    ),

    dates as (
        select
            cast(
                unnest(
                    generate_series(
                        cast(as_of_date - {{ spine_days - 1 }} as timestamp),
                        cast(as_of_date as timestamp),
                        interval 1 day
                    )
                ) as date
            ) as health_date
        from reporting
    ),

    in_scope_accounts as (
        select account_id
        from contracts
        union
        select account_id
        from workspace_links
    ),

    spine as (
        select customers.account_id, dates.health_date
        from customers
        inner join in_scope_accounts on in_scope_accounts.account_id = customers.account_id
        cross join dates
    ),

    {#- A user counts as active on day D for 30 (90) days after each active day: +1 on the
    active day, −1 when the window passes or on the next active day, whichever is first. -#}
    user_activity_runs as (
        select
            account_id,
            user_id,
            activity_date,
            lead(activity_date) over (
                partition by account_id, user_id order by activity_date
            ) as next_activity_date
        from user_days
    ),

    activity_events as (
        select
            account_id,
            activity_date,
            1 as active_30,
            1 as active_90,
            0 as tickets_created,
            0 as tickets_resolved,
            cast(0 as double) as resolution_minutes,
            0 as nps_responses,
            0 as nps_code_sum,
            0 as csat_responses,
            0 as csat_satisfied,
            0 as sentiment_comments,
            cast(0 as double) as sentiment_sum
        from user_activity_runs
        union all
        select
            account_id,
            least(coalesce(next_activity_date, activity_date + 30), activity_date + 30),
            -1,
            0,
            0,
            0,
            0.0,
            0,
            0,
            0,
            0,
            0,
            0.0
        from user_activity_runs
        union all
        select
            account_id,
            least(coalesce(next_activity_date, activity_date + 90), activity_date + 90),
            0,
            -1,
            0,
            0,
            0.0,
            0,
            0,
            0,
            0,
            0,
            0.0
        from user_activity_runs
        union all
        select account_id, cast(created_at as date), 0, 0, 1, 0, 0.0, 0, 0, 0, 0, 0, 0.0
        from tickets
        union all
        select
            account_id,
            cast(full_resolved_at as date),
            0,
            0,
            0,
            1,
            coalesce(full_resolution_calendar_minutes, 0),
            0,
            0,
            0,
            0,
            0,
            0.0
        from tickets
        where full_resolved_at is not null
        union all
        select
            account_id,
            cast(responded_at as date),
            0,
            0,
            0,
            0,
            0.0,
            case when nps_code is not null then 1 else 0 end,
            coalesce(nps_code, 0),
            case when survey_type = 'CSAT' then 1 else 0 end,
            case when survey_type = 'CSAT' and is_satisfied then 1 else 0 end,
            case when comment_sentiment is not null then 1 else 0 end,
            coalesce(comment_sentiment, 0)
        from responses
    ),

    daily_activity as (
        select
            account_id,
            activity_date,
            sum(active_30) as active_30,
            sum(active_90) as active_90,
            sum(tickets_created) as tickets_created,
            sum(tickets_resolved) as tickets_resolved,
            sum(resolution_minutes) as resolution_minutes,
            sum(nps_responses) as nps_responses,
            sum(nps_code_sum) as nps_code_sum,
            sum(csat_responses) as csat_responses,
            sum(csat_satisfied) as csat_satisfied,
            sum(sentiment_comments) as sentiment_comments,
            sum(sentiment_sum) as sentiment_sum
        from activity_events
        group by account_id, activity_date
    ),

    {#- Running totals per account over its (sparse) activity days: a window sum is the
    running total at its last day minus the running total just before its first day. -#}
    running as (
        select
            account_id,
            activity_date,
            sum(active_30) over running_total as active_30,
            sum(active_90) over running_total as active_90,
            sum(tickets_created) over running_total as tickets_created,
            sum(tickets_resolved) over running_total as tickets_resolved,
            sum(resolution_minutes) over running_total as resolution_minutes,
            sum(nps_responses) over running_total as nps_responses,
            sum(nps_code_sum) over running_total as nps_code_sum,
            sum(csat_responses) over running_total as csat_responses,
            sum(csat_satisfied) over running_total as csat_satisfied,
            sum(sentiment_comments) over running_total as sentiment_comments,
            sum(sentiment_sum) over running_total as sentiment_sum
        from daily_activity
        window
            running_total as (
                partition by account_id
                order by activity_date
                rows between unbounded preceding and current row
            )
    ),

    at_day as (
        select
            spine.account_id,
            spine.health_date,
            coalesce(running.active_30, 0) as active_30,
            coalesce(running.active_90, 0) as active_90,
            coalesce(running.tickets_created, 0) as tickets_created,
            coalesce(running.tickets_resolved, 0) as tickets_resolved,
            coalesce(running.resolution_minutes, 0) as resolution_minutes,
            coalesce(running.nps_responses, 0) as nps_responses,
            coalesce(running.nps_code_sum, 0) as nps_code_sum,
            coalesce(running.csat_responses, 0) as csat_responses,
            coalesce(running.csat_satisfied, 0) as csat_satisfied,
            coalesce(running.sentiment_comments, 0) as sentiment_comments,
            coalesce(running.sentiment_sum, 0) as sentiment_sum
        from spine
        asof left join
            running
            on running.account_id = spine.account_id
            and spine.health_date >= running.activity_date
    ),

    {% for days in [30, 90, 365] %}
        before_{{ days }}_days as (
            select
                spine.account_id,
                spine.health_date,
                coalesce(running.active_30, 0) as active_30,
                coalesce(running.tickets_created, 0) as tickets_created,
                coalesce(running.tickets_resolved, 0) as tickets_resolved,
                coalesce(running.resolution_minutes, 0) as resolution_minutes,
                coalesce(running.nps_responses, 0) as nps_responses,
                coalesce(running.nps_code_sum, 0) as nps_code_sum,
                coalesce(running.csat_responses, 0) as csat_responses,
                coalesce(running.csat_satisfied, 0) as csat_satisfied,
                coalesce(running.sentiment_comments, 0) as sentiment_comments,
                coalesce(running.sentiment_sum, 0) as sentiment_sum
            from spine
            asof left join
                running
                on running.account_id = spine.account_id
                and spine.health_date - {{ days }} >= running.activity_date
        ),
    {% endfor %}

    mrr as (
        select
            spine.account_id,
            spine.health_date,
            coalesce(
                sum(contracts.mrr) filter (
                    where
                        contracts.contract_start_date <= spine.health_date
                        and spine.health_date < contracts.contract_end_date
                ),
                0
            ) as mrr,
            coalesce(
                sum(contracts.mrr) filter (
                    where
                        contracts.contract_start_date <= spine.health_date - 90
                        and spine.health_date - 90 < contracts.contract_end_date
                ),
                0
            ) as mrr_90d_ago,
            min(contracts.contract_end_date) filter (
                where
                    contracts.contract_start_date <= spine.health_date
                    and spine.health_date < contracts.contract_end_date
            ) as next_renewal_date
        from spine
        left join
            contracts
            on contracts.account_id = spine.account_id
            and contracts.contract_start_date <= spine.health_date
            and spine.health_date - 90 < contracts.contract_end_date
        group by spine.account_id, spine.health_date
    ),

    with_previous as (
        select
            at_day.account_id,
            at_day.health_date,
            mrr.mrr,
            mrr.next_renewal_date,
            mrr.mrr_90d_ago,
            at_day.active_30 as active_users_30d,
            at_day.active_90 as active_users_90d,
            before_30_days.active_30 as active_users_previous_30d,
            at_day.tickets_created - before_30_days.tickets_created as tickets_30d,
            at_day.tickets_resolved - before_90_days.tickets_resolved as tickets_resolved_90d,
            at_day.resolution_minutes - before_90_days.resolution_minutes as resolution_minutes_90d,
            at_day.nps_responses - before_365_days.nps_responses as nps_responses_365d,
            at_day.nps_code_sum - before_365_days.nps_code_sum as nps_code_sum_365d,
            at_day.csat_responses - before_90_days.csat_responses as csat_responses_90d,
            at_day.csat_satisfied - before_90_days.csat_satisfied as csat_satisfied_90d,
            at_day.sentiment_comments - before_90_days.sentiment_comments as sentiment_comments_90d,
            at_day.sentiment_sum - before_90_days.sentiment_sum as sentiment_sum_90d
        from at_day
        inner join
            mrr on mrr.account_id = at_day.account_id and mrr.health_date = at_day.health_date
        inner join
            before_30_days
            on before_30_days.account_id = at_day.account_id
            and before_30_days.health_date = at_day.health_date
        inner join
            before_90_days
            on before_90_days.account_id = at_day.account_id
            and before_90_days.health_date = at_day.health_date
        inner join
            before_365_days
            on before_365_days.account_id = at_day.account_id
            and before_365_days.health_date = at_day.health_date
    ),

    components as (
        select
            account_id,
            health_date,
            mrr,
            round(12 * mrr, 2) as arr,
            mrr_90d_ago,
            next_renewal_date,
            active_users_30d,
            active_users_previous_30d,
            active_users_90d,
            tickets_30d,
            tickets_resolved_90d,
            nps_responses_365d,
            csat_responses_90d,
            sentiment_comments_90d,
            round(active_users_30d / nullif(active_users_previous_30d, 0) - 1, 4) as usage_trend,
            case
                when coalesce(active_users_previous_30d, 0) = 0 and active_users_30d > 0
                then 100.0
                when coalesce(active_users_previous_30d, 0) = 0
                then 0.0
                else
                    least(
                        100.0,
                        greatest(0.0, 50 + 50 * (active_users_30d / active_users_previous_30d - 1))
                    )
            end as usage_trend_score,
            coalesce(
                100.0 * active_users_30d / nullif(active_users_90d, 0), 0
            ) as usage_breadth_score,
            greatest(
                0.0,
                100 * (
                    1
                    - (tickets_30d / greatest(active_users_30d, 1))
                    / {{ cx_var('health_tickets_per_user_ceiling') }}
                )
            ) as support_burden_score,
            round(
                resolution_minutes_90d / nullif(tickets_resolved_90d, 0) / 60, 2
            ) as mean_resolution_hours_90d,
            case
                when tickets_resolved_90d = 0
                then 100.0
                else
                    least(
                        100.0,
                        greatest(
                            0.0,
                            100 * (
                                5 * {{ cx_var('health_resolution_target_hours') }}
                                - resolution_minutes_90d / tickets_resolved_90d / 60
                            )
                            / (4 * {{ cx_var('health_resolution_target_hours') }})
                        )
                    )
            end as support_speed_score,
            case
                when nps_responses_365d > 0 then 50 + 50 * nps_code_sum_365d / nps_responses_365d
            end as nps_signal_score,
            case
                when csat_responses_90d > 0 then 100.0 * csat_satisfied_90d / csat_responses_90d
            end as csat_signal_score,
            case
                when sentiment_comments_90d > 0
                then 50 + 50 * sentiment_sum_90d / sentiment_comments_90d
            end as comment_signal_score,
            case
                when coalesce(mrr_90d_ago, 0) = 0
                then 100.0
                else least(100.0, 100.0 * mrr / mrr_90d_ago)
            end as contraction_score,
            case
                when
                    next_renewal_date is null
                    or next_renewal_date - health_date
                    >= {{ cx_var('health_renewal_horizon_days') }}
                then 100.0
                else
                    50
                    + 50.0
                    * greatest(0, next_renewal_date - health_date)
                    / {{ cx_var('health_renewal_horizon_days') }}
            end as renewal_score
        from with_previous
    ),

    scored as (
        select
            components.*,
            (usage_trend_score + usage_breadth_score) / 2 as usage_score,
            (support_burden_score + support_speed_score) / 2 as support_score,
            coalesce(
                (
                    coalesce(nps_signal_score, 0)
                    + coalesce(csat_signal_score, 0)
                    + coalesce(comment_signal_score, 0)
                ) / nullif(
                    (nps_signal_score is not null)::int
                    + (csat_signal_score is not null)::int
                    + (comment_signal_score is not null)::int,
                    0
                ),
                50.0
            ) as sentiment_score,
            coalesce(nps_signal_score, csat_signal_score, comment_signal_score)
            is not null as has_sentiment_signal,
            (contraction_score + renewal_score) / 2 as commercial_score
        from components
    ),

    weighted as (
        select
            scored.*,
            round(
                (
                    {{ weights['usage'] }} * usage_score
                    + {{ weights['support'] }} * support_score
                    + {{ weights['sentiment'] }} * sentiment_score
                    + {{ weights['commercial'] }} * commercial_score
                ) / (
                    {{ weights['usage'] }}
                    + {{ weights['support'] }}
                    + {{ weights['sentiment'] }}
                    + {{ weights['commercial'] }}
                ),
                1
            ) as health_score
        from scored
    ),

    trended as (
        select
            weighted.*,
            lag(weighted.health_score, 30) over (
                partition by weighted.account_id order by weighted.health_date
            ) as health_score_30_days_ago
        from weighted
    ),

    final as (
        select
            trended.*,
            case
                when health_score < {{ cx_var('health_at_risk_below') }}
                then 'at_risk'
                when health_score < {{ cx_var('health_growth_from') }}
                then 'neutral'
                else 'growth'
            end as health_band,
            round(health_score - health_score_30_days_ago, 1) as health_score_change_30d
        from trended
        cross join reporting
        where
            trended.health_date > reporting.as_of_date - {{ history_days }}
            and (trended.mrr > 0 or trended.active_users_90d > 0)
    )

select
    {{ dbt.hash("account_id || '|' || cast(health_date as varchar)") }} as account_health_day_id,
    account_id,
    health_date,
    health_score,
    health_band,
    health_score_30_days_ago,
    health_score_change_30d,
    case when health_band = 'at_risk' then arr else 0 end as revenue_at_risk,
    mrr,
    arr,
    round(usage_score, 1) as usage_score,
    round(usage_trend_score, 1) as usage_trend_score,
    round(usage_breadth_score, 1) as usage_breadth_score,
    round(support_score, 1) as support_score,
    round(support_burden_score, 1) as support_burden_score,
    round(support_speed_score, 1) as support_speed_score,
    round(sentiment_score, 1) as sentiment_score,
    round(nps_signal_score, 1) as nps_signal_score,
    round(csat_signal_score, 1) as csat_signal_score,
    round(comment_signal_score, 1) as comment_signal_score,
    has_sentiment_signal,
    round(commercial_score, 1) as commercial_score,
    round(contraction_score, 1) as contraction_score,
    round(renewal_score, 1) as renewal_score,
    cast(active_users_30d as bigint) as active_users_30d,
    cast(active_users_previous_30d as bigint) as active_users_previous_30d,
    cast(active_users_90d as bigint) as active_users_90d,
    usage_trend,
    cast(tickets_30d as bigint) as tickets_30d,
    cast(tickets_resolved_90d as bigint) as tickets_resolved_90d,
    mean_resolution_hours_90d,
    cast(nps_responses_365d as bigint) as nps_responses_365d,
    cast(csat_responses_90d as bigint) as csat_responses_90d,
    cast(sentiment_comments_90d as bigint) as sentiment_comments_90d,
    mrr_90d_ago,
    next_renewal_date
from final
