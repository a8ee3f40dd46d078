{#-
    Close-the-loop follow-ups (cx-metrics.md): every detractor (NPS 0–6), dissatisfied
    rating (CSAT, TXS, PSAT bottom two boxes; Zendesk 'bad') and difficult CES (1–3)
    response lands in exactly one follow-up — one per customer per reason per reporting
    quarter, however many of the customer's contacts answered (the follow-up lists all of
    them). Respondents without a resolved customer get a follow-up each.

    - follow_up_due_at = first response + var close_the_loop_sla_hours (default 48).
    - fix_loop_status (fix it for this customer): followed_up when the survey tool records a
      follow-up (Delighted tag 'followed-up' or a note), else overdue past the due time,
      else open — as of the end of the reporting date.
    - root_cause_status (fix it for everyone), separate: needs_tagging when no comment has a
      topic, else to_review under root_cause_topic (the most frequent primary topic).
    ARR and owner are the customer's current ones (dim_customers, Salesforce).
-#}
with

    reporting as (select as_of_end_at from {{ ref('int_reporting_date') }}),

    negatives as (
        select
            survey_response_key,
            response_id,
            survey_source,
            survey_type,
            touchpoint,
            score,
            score_category,
            comment,
            comment_sentiment,
            comment_topics,
            comment_primary_topic,
            contact_id,
            respondent_role,
            account_id,
            ticket_id,
            is_followed_up_in_source,
            responded_at,
            response_quarter
        from {{ ref('fct_survey_responses') }}
        where is_negative
    ),

    customers as (
        select account_id, account_name, segment, region, arr, owner_user_id, owner_name
        from {{ ref('dim_customers') }}
    ),

    keyed as (
        select
            negatives.*,
            case
                when survey_type = 'NPS'
                then 'nps_detractor'
                when survey_type = 'CES'
                then 'ces_difficult'
                else lower(survey_type) || '_dissatisfied'
            end as follow_up_reason,
            coalesce(account_id, 'response:' || survey_response_key) as follow_up_subject
        from negatives
    ),

    follow_ups as (
        select
            follow_up_subject,
            follow_up_reason,
            response_quarter,
            min(account_id) as account_id,
            count(*) as responses,
            list_sort(list(response_id)) as response_ids,
            list_sort(list_distinct(list(contact_id))) as contact_ids,
            count(distinct contact_id) as contacts,
            list_sort(list_distinct(list(respondent_role))) as respondent_roles,
            list_sort(list_distinct(list(survey_source))) as survey_sources,
            list_sort(list_distinct(list(touchpoint))) as touchpoints,
            min(score) as lowest_score,
            string_agg(comment, ' | ' order by responded_at) as comments,
            list_sort(list_distinct(flatten(list(coalesce(comment_topics, []))))) as topics,
            mode(comment_primary_topic) as root_cause_topic,
            round(avg(comment_sentiment), 4) as mean_comment_sentiment,
            list_sort(list_distinct(list(ticket_id))) as ticket_ids,
            bool_or(is_followed_up_in_source) as is_followed_up,
            min(responded_at) as first_response_at,
            max(responded_at) as last_response_at
        from keyed
        group by follow_up_subject, follow_up_reason, response_quarter
    ),

    final as (
        select
            follow_ups.*,
            customers.account_name,
            customers.segment,
            customers.region,
            coalesce(customers.arr, 0) as arr,
            customers.owner_user_id,
            customers.owner_name,
            follow_ups.first_response_at
            + interval {{ cx_var('close_the_loop_sla_hours') }} hour as follow_up_due_at,
            case
                when follow_ups.is_followed_up
                then 'followed_up'
                when
                    reporting.as_of_end_at
                    > follow_ups.first_response_at
                    + interval {{ cx_var('close_the_loop_sla_hours') }} hour
                then 'overdue'
                else 'open'
            end as fix_loop_status,
            case
                when len(follow_ups.topics) = 0 then 'needs_tagging' else 'to_review'
            end as root_cause_status,
            case
                when not follow_ups.is_followed_up
                then date_diff('day', follow_ups.first_response_at, reporting.as_of_end_at)
            end as days_open
        from follow_ups
        cross join reporting
        left join customers on customers.account_id = follow_ups.account_id
    )

select
    {{ dbt.hash("follow_up_subject || '|' || follow_up_reason || '|' || cast(response_quarter as varchar)") }}
    as follow_up_id,
    follow_up_reason,
    response_quarter,
    account_id,
    account_name,
    segment,
    region,
    arr,
    owner_user_id,
    owner_name,
    responses,
    contacts,
    contact_ids,
    respondent_roles,
    response_ids,
    survey_sources,
    touchpoints,
    ticket_ids,
    lowest_score,
    comments,
    topics,
    mean_comment_sentiment,
    first_response_at,
    last_response_at,
    follow_up_due_at,
    days_open,
    fix_loop_status,
    root_cause_status,
    root_cause_topic
from final
