{#-
    Support KPIs per reporting month (cx-metrics.md), overall and by group, priority and
    segment: one row per (month, breakdown, breakdown_value), all computed from the ticket
    event stream (fct_tickets ← int_zendesk__ticket_lifecycle).

    - tickets_per_1000_customers = tickets created in the month ÷ support customers active
      that month (fct_support_customers_monthly; for the segment breakdown, that segment's)
      × 1,000.
    - First reply (tickets created in the month that got one) and full resolution (tickets
      whose last solve fell in the month): median and p90, calendar and business minutes
      (business hours seed). Percentiles are taken per metric, never subtracted.
    - reopen_rate = tickets reopened at least once ÷ tickets solved (last solve in month).
    - one_touch_rate = solved tickets with exactly one public agent reply ÷ solved tickets
      (Fivetran's definition; Zendesk's own report counts fewer than two, zero included).
    - escalation_rate = escalated ÷ created (created in month).
    - unreplied_tickets: created in the month, not outbound, without any agent reply yet.
-#}
with

    tickets as (
        select
            ticket_id,
            segment,
            priority,
            group_name,
            created_month,
            resolved_month,
            is_outbound,
            is_solved,
            is_reopened,
            is_one_touch,
            is_escalated,
            first_reply_at,
            first_reply_calendar_minutes,
            first_reply_business_minutes,
            full_resolution_calendar_minutes,
            full_resolution_business_minutes
        from {{ ref('fct_tickets') }}
    ),

    support_customers as (
        select month_start, segment, count(*) as support_customers
        from {{ ref('fct_support_customers_monthly') }}
        group by month_start, segment
    ),

    {% set breakdowns = [
        ("all", "'all'"),
        ("group", "group_name"),
        ("priority", "priority"),
        ("segment", "segment"),
    ] %}

    created_cells as (
        {% for name, expression in breakdowns %}
            select
                created_month as month_start,
                '{{ name }}' as breakdown,
                {{ expression }} as breakdown_value,
                ticket_id,
                is_outbound,
                is_escalated,
                first_reply_at,
                first_reply_calendar_minutes,
                first_reply_business_minutes
            from tickets
            {% if not loop.last %}
                union all
            {% endif %}
        {% endfor %}
    ),

    resolved_cells as (
        {% for name, expression in breakdowns %}
            select
                resolved_month as month_start,
                '{{ name }}' as breakdown,
                {{ expression }} as breakdown_value,
                ticket_id,
                is_reopened,
                is_one_touch,
                full_resolution_calendar_minutes,
                full_resolution_business_minutes
            from tickets
            where is_solved and resolved_month is not null
            {% if not loop.last %}
                union all
            {% endif %}
        {% endfor %}
    ),

    created_stats as (
        select
            month_start,
            breakdown,
            breakdown_value,
            count(*) as tickets_created,
            count(*) filter (where is_escalated) as escalated_tickets,
            count(*) filter (where not is_outbound and first_reply_at is null) as unreplied_tickets,
            count(first_reply_calendar_minutes) as replied_tickets,
            quantile_cont(first_reply_calendar_minutes, 0.5) as first_reply_median_minutes,
            quantile_cont(first_reply_calendar_minutes, 0.9) as first_reply_p90_minutes,
            quantile_cont(first_reply_business_minutes, 0.5) as first_reply_median_business_minutes,
            quantile_cont(first_reply_business_minutes, 0.9) as first_reply_p90_business_minutes
        from created_cells
        group by month_start, breakdown, breakdown_value
    ),

    resolved_stats as (
        select
            month_start,
            breakdown,
            breakdown_value,
            count(*) as solved_tickets,
            count(*) filter (where is_reopened) as reopened_tickets,
            count(*) filter (where is_one_touch) as one_touch_tickets,
            quantile_cont(full_resolution_calendar_minutes, 0.5) as full_resolution_median_minutes,
            quantile_cont(full_resolution_calendar_minutes, 0.9) as full_resolution_p90_minutes,
            quantile_cont(
                full_resolution_business_minutes, 0.5
            ) as full_resolution_median_business_minutes,
            quantile_cont(
                full_resolution_business_minutes, 0.9
            ) as full_resolution_p90_business_minutes
        from resolved_cells
        group by month_start, breakdown, breakdown_value
    ),

    denominators as (
        select month_start, 'segment' as breakdown, segment as breakdown_value, support_customers
        from support_customers
        union all
        select month_start, breakdown.name, null, sum(support_customers)
        from support_customers
        cross join (values ('all'), ('group'), ('priority')) as breakdown(name)
        group by month_start, breakdown.name
    ),

    combined as (
        select
            coalesce(created_stats.month_start, resolved_stats.month_start) as month_start,
            coalesce(created_stats.breakdown, resolved_stats.breakdown) as breakdown,
            coalesce(
                created_stats.breakdown_value, resolved_stats.breakdown_value
            ) as breakdown_value,
            coalesce(created_stats.tickets_created, 0) as tickets_created,
            coalesce(created_stats.escalated_tickets, 0) as escalated_tickets,
            coalesce(created_stats.unreplied_tickets, 0) as unreplied_tickets,
            coalesce(created_stats.replied_tickets, 0) as replied_tickets,
            created_stats.first_reply_median_minutes,
            created_stats.first_reply_p90_minutes,
            created_stats.first_reply_median_business_minutes,
            created_stats.first_reply_p90_business_minutes,
            coalesce(resolved_stats.solved_tickets, 0) as solved_tickets,
            coalesce(resolved_stats.reopened_tickets, 0) as reopened_tickets,
            coalesce(resolved_stats.one_touch_tickets, 0) as one_touch_tickets,
            resolved_stats.full_resolution_median_minutes,
            resolved_stats.full_resolution_p90_minutes,
            resolved_stats.full_resolution_median_business_minutes,
            resolved_stats.full_resolution_p90_business_minutes
        from created_stats
        full outer join
            resolved_stats
            on resolved_stats.month_start = created_stats.month_start
            and resolved_stats.breakdown = created_stats.breakdown
            and resolved_stats.breakdown_value = created_stats.breakdown_value
    ),

    final as (
        select
            combined.*,
            coalesce(denominators.support_customers, 0) as support_customers,
            round(
                1000.0 * combined.tickets_created / nullif(denominators.support_customers, 0), 2
            ) as tickets_per_1000_customers,
            round(
                100.0 * combined.escalated_tickets / nullif(combined.tickets_created, 0), 2
            ) as escalation_rate_pct,
            round(
                100.0 * combined.reopened_tickets / nullif(combined.solved_tickets, 0), 2
            ) as reopen_rate_pct,
            round(
                100.0 * combined.one_touch_tickets / nullif(combined.solved_tickets, 0), 2
            ) as one_touch_rate_pct
        from combined
        left join
            denominators
            on denominators.month_start = combined.month_start
            and denominators.breakdown = combined.breakdown
            and (
                denominators.breakdown_value = combined.breakdown_value
                or denominators.breakdown_value is null
            )
    )

select
    {{ dbt.hash("cast(month_start as varchar) || '|' || breakdown || '|' || breakdown_value") }}
    as kpi_cell_id,
    month_start,
    breakdown,
    breakdown_value,
    tickets_created,
    support_customers,
    tickets_per_1000_customers,
    replied_tickets,
    unreplied_tickets,
    round(first_reply_median_minutes, 2) as first_reply_median_minutes,
    round(first_reply_p90_minutes, 2) as first_reply_p90_minutes,
    round(first_reply_median_business_minutes, 2) as first_reply_median_business_minutes,
    round(first_reply_p90_business_minutes, 2) as first_reply_p90_business_minutes,
    solved_tickets,
    round(full_resolution_median_minutes, 2) as full_resolution_median_minutes,
    round(full_resolution_p90_minutes, 2) as full_resolution_p90_minutes,
    round(full_resolution_median_business_minutes, 2) as full_resolution_median_business_minutes,
    round(full_resolution_p90_business_minutes, 2) as full_resolution_p90_business_minutes,
    round(first_reply_median_minutes / 60, 2) as median_first_reply_hours,
    round(full_resolution_median_minutes / 60, 2) as median_full_resolution_hours,
    reopened_tickets,
    reopen_rate_pct,
    escalated_tickets,
    escalation_rate_pct,
    one_touch_tickets,
    one_touch_rate_pct
from final
