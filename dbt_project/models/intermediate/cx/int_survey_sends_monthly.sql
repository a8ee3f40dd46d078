{#-
    Survey sends (the response-rate denominator, cx-metrics.md) per reporting month, source,
    survey type, touchpoint, and — where the source knows them — support group and agent.
    Qualtrics: the distributions' sent counts (stats.sent), by the distribution's send month
    and the survey's program (seed qualtrics_survey_programs). Zendesk: every satisfaction
    survey offered (a rating row, answered or not), by the month it was offered, with the
    ticket's group and agent. Delighted exposes no send counts, so its responses have no
    response rate.
-#}
with

    programs as (
        select survey_name, survey_program, touchpoint from {{ ref('qualtrics_survey_programs') }}
    ),

    surveys as (select survey_id, survey_name from {{ ref('stg_qualtrics__surveys') }}),

    distributions as (
        select survey_id, sent_at, sent_count
        from {{ ref('stg_qualtrics__distributions') }}
        where not is_deleted and sent_count > 0
    ),

    ratings as (
        select created_at, group_id, assignee_id
        from {{ ref('stg_zendesk__satisfaction_ratings') }}
        where not is_deleted
    ),

    qualtrics_sends as (
        select
            {{ reporting_month('distributions.sent_at') }} as send_month,
            'qualtrics' as survey_source,
            upper(programs.survey_program) as survey_type,
            programs.touchpoint,
            cast(null as bigint) as group_id,
            cast(null as bigint) as agent_id,
            sum(distributions.sent_count) as sends
        from distributions
        inner join surveys on surveys.survey_id = distributions.survey_id
        inner join programs on programs.survey_name = surveys.survey_name
        group by all
    ),

    zendesk_sends as (
        select
            {{ reporting_month('created_at') }} as send_month,
            'zendesk' as survey_source,
            'CSAT' as survey_type,
            'support_case_closed' as touchpoint,
            group_id,
            assignee_id as agent_id,
            count(*) as sends
        from ratings
        group by all
    ),

    unioned as (
        select *
        from qualtrics_sends
        union all by name
        select *
        from zendesk_sends
    )

select
    {{ dbt.hash("cast(send_month as varchar) || '|' || survey_source || '|' || survey_type || '|' || touchpoint || '|' || coalesce(cast(group_id as varchar), '') || '|' || coalesce(cast(agent_id as varchar), '')") }}
    as send_cell_id,
    send_month,
    survey_source,
    survey_type,
    touchpoint,
    group_id,
    agent_id,
    cast(sends as bigint) as sends
from unioned
