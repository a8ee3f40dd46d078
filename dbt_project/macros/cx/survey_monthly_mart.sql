{#-
    The body of the monthly survey marts (mart_csat_monthly, mart_txs_monthly,
    mart_ces_monthly, mart_psat_monthly): one row per (reporting month, breakdown,
    breakdown_value) for one survey type, with n, the share of positive responses
    (`positive`: satisfied = top-two-box, or easy = 5–7 on CES), the mean score on the
    survey's own scale (binary Zendesk good/bad ratings have no mean and are left out of it),
    sends and the response rate.

    Response rate = tracked_responses ÷ sends: only responses of sources that report sends
    at the breakdown's level are counted in the numerator (Qualtrics distributions know
    survey and month, Zendesk ratings also group and agent, Delighted nothing), so the
    rate never mixes denominators.

    Breakdowns: all, touchpoint, survey_source, support_group (the ticket's group), agent
    (the ticket's agent, or the opportunity owner for sales surveys), plus `extra`
    (name → SQL expression over fct_survey_responses columns).
-#}
{% macro survey_monthly_mart(survey_type, positive_flag, positive, extra=[]) %}
    {%- set breakdowns = [
        ("all", "'all'", "survey_source in ('qualtrics', 'zendesk')"),
        ("touchpoint", "touchpoint", "survey_source in ('qualtrics', 'zendesk')"),
        ("survey_source", "survey_source", "survey_source in ('qualtrics', 'zendesk')"),
        ("support_group", "group_name", "survey_source = 'zendesk'"),
        ("agent", "agent", "survey_source = 'zendesk'"),
    ] + extra -%}
    with

        responses as (
            select
                responses.response_month,
                responses.survey_source,
                responses.touchpoint,
                responses.score,
                responses.scale_max - responses.scale_min > 1 as has_scale,
                responses.{{ positive_flag }} as is_positive,
                responses.score_category,
                responses.ticket_group_id,
                responses.ticket_agent_id,
                responses.opportunity_owner_user_id,
                responses.feature
            from {{ ref('fct_survey_responses') }} as responses
            where responses.survey_type = '{{ survey_type }}' and responses.score is not null
        ),

        sends as (
            select send_month, survey_source, touchpoint, group_id, agent_id, sends
            from {{ ref('int_survey_sends_monthly') }}
            where survey_type = '{{ survey_type }}'
        ),

        groups as (select group_id, group_name from {{ ref('stg_zendesk__groups') }}),

        enriched as (
            select
                responses.*,
                groups.group_name,
                coalesce(
                    cast(responses.ticket_agent_id as varchar), responses.opportunity_owner_user_id
                ) as agent
            from responses
            left join groups on groups.group_id = responses.ticket_group_id
        ),

        send_rows as (
            select
                sends.send_month,
                sends.survey_source,
                sends.touchpoint,
                groups.group_name,
                cast(sends.agent_id as varchar) as agent,
                sends.sends
            from sends
            left join groups on groups.group_id = sends.group_id
        ),

        cells as (
            {% for name, expression, tracked in breakdowns %}
                select
                    response_month as month_start,
                    '{{ name }}' as breakdown,
                    cast({{ expression }} as varchar) as breakdown_value,
                    score,
                    has_scale,
                    is_positive,
                    score_category,
                    {{ tracked }} as is_tracked
                from enriched
                where {{ expression }} is not null
                {% if not loop.last %}
                    union all
                {% endif %}
            {% endfor %}
        ),

        send_cells as (
            {% for name, expression, tracked in breakdowns %}
                {%- if name in ("all", "touchpoint", "survey_source", "support_group", "agent") %}
                    select
                        send_month as month_start,
                        '{{ name }}' as breakdown,
                        cast({{ expression }} as varchar) as breakdown_value,
                        sends
                    from send_rows
                    where {{ expression }} is not null and {{ tracked }}
                    union all
                {%- endif %}
            {% endfor %}
            select
                cast(null as date) as month_start,
                cast(null as varchar) as breakdown,
                cast(null as varchar) as breakdown_value,
                cast(null as bigint) as sends
            where false
        ),

        sent as (
            select month_start, breakdown, breakdown_value, sum(sends) as sends
            from send_cells
            group by month_start, breakdown, breakdown_value
        ),

        counts as (
            select
                month_start,
                breakdown,
                breakdown_value,
                count(*) as responses,
                count(*) filter (where is_positive) as {{ positive }}_responses,
                count(*) filter (
                    where score_category in ('dissatisfied', 'difficult')
                ) as negative_responses,
                count(*) filter (where has_scale) as scored_responses,
                avg(score) filter (where has_scale) as mean_score,
                count(*) filter (where is_tracked) as tracked_responses
            from cells
            group by month_start, breakdown, breakdown_value
        ),

        final as (
            select
                coalesce(counts.month_start, sent.month_start) as month_start,
                coalesce(counts.breakdown, sent.breakdown) as breakdown,
                coalesce(counts.breakdown_value, sent.breakdown_value) as breakdown_value,
                coalesce(counts.responses, 0) as responses,
                coalesce(counts.{{ positive }}_responses, 0) as {{ positive }}_responses,
                coalesce(counts.negative_responses, 0) as negative_responses,
                round(
                    100.0 * counts.{{ positive }}_responses / nullif(counts.responses, 0), 2
                ) as pct_{{ positive }},
                coalesce(counts.scored_responses, 0) as scored_responses,
                round(counts.mean_score, 3) as mean_score,
                coalesce(counts.tracked_responses, 0) as tracked_responses,
                cast(coalesce(sent.sends, 0) as bigint) as sends,
                round(
                    100.0 * coalesce(counts.tracked_responses, 0) / nullif(sent.sends, 0), 2
                ) as response_rate_pct,
                coalesce(counts.responses, 0)
                >= {{ cx_var('satisfaction_min_responses') }} as is_publishable
            from counts
            full outer join
                sent
                on sent.month_start = counts.month_start
                and sent.breakdown = counts.breakdown
                and sent.breakdown_value = counts.breakdown_value
        )

    select
        {{ dbt.hash("cast(month_start as varchar) || '|' || breakdown || '|' || breakdown_value") }}
        as cell_id,
        month_start,
        breakdown,
        breakdown_value,
        responses,
        {{ positive }}_responses,
        negative_responses,
        pct_{{ positive }},
        scored_responses,
        mean_score,
        tracked_responses,
        sends,
        response_rate_pct,
        is_publishable
    from final
{% endmacro %}
