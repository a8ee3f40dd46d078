{#-
    One row per Zendesk ticket (deleted tickets excluded), with its customer, current
    group, agent, priority and status, and the support metrics computed from its event
    stream in int_zendesk__ticket_lifecycle (first reply, resolution, reopens, escalation,
    touches; calendar and business minutes), plus comment tagging: the subject's topics and
    sentiment and the mean sentiment of what the requester and other end-users wrote.
    Tickets without a resolvable customer (free individuals) keep a NULL account_id.
-#}
with

    tickets as (
        select
            ticket_id,
            subject,
            priority,
            status,
            ticket_type,
            via_channel,
            requester_id,
            assignee_id,
            group_id,
            organization_id,
            created_at
        from {{ ref('stg_zendesk__tickets') }}
        where not is_deleted
    ),

    lifecycle as (
        select
            ticket_id,
            created_at,
            is_outbound,
            first_reply_at,
            first_solved_at,
            last_solved_at,
            full_resolved_at,
            solve_count,
            reopen_count,
            is_reopened,
            public_agent_reply_count,
            is_one_touch,
            end_user_comment_count,
            unknown_author_comment_count,
            requester_comment_sentiment,
            requester_comment_min_sentiment,
            is_escalated,
            escalated_at,
            first_reply_calendar_minutes,
            first_reply_business_minutes,
            full_resolution_calendar_minutes,
            full_resolution_business_minutes
        from {{ ref('int_zendesk__ticket_lifecycle') }}
    ),

    ticket_accounts as (
        select ticket_id, account_id from {{ ref('int_zendesk__ticket_accounts') }}
    ),

    customers as (select account_id, segment, region, plan from {{ ref('dim_customers') }}),

    groups as (select group_id, group_name from {{ ref('stg_zendesk__groups') }}),

    texts as (
        select text_source, source_id, text_hash
        from {{ ref('int_comment_texts') }}
        where text_source = 'zendesk_ticket_subject'
    ),

    tags as (
        select text_hash, sentiment_compound, sentiment_label, topics, primary_topic
        from {{ ref('int_comment_tags') }}
    ),

    subject_tags as (
        select
            cast(texts.source_id as bigint) as ticket_id,
            tags.sentiment_compound,
            tags.topics,
            tags.primary_topic
        from texts
        inner join tags on tags.text_hash = texts.text_hash
    ),

    final as (
        select
            tickets.ticket_id,
            ticket_accounts.account_id,
            coalesce(customers.segment, 'unknown') as segment,
            coalesce(customers.region, 'unknown') as region,
            coalesce(customers.plan, 'unknown') as plan,
            tickets.subject,
            subject_tags.topics as subject_topics,
            subject_tags.primary_topic as subject_primary_topic,
            subject_tags.sentiment_compound as subject_sentiment,
            lifecycle.requester_comment_sentiment,
            lifecycle.requester_comment_min_sentiment,
            coalesce(tickets.priority, 'none') as priority,
            tickets.status,
            tickets.ticket_type,
            tickets.via_channel,
            tickets.requester_id,
            tickets.assignee_id as agent_id,
            tickets.group_id,
            coalesce(groups.group_name, 'unassigned') as group_name,
            tickets.organization_id,
            coalesce(lifecycle.created_at, tickets.created_at) as created_at,
            {{ reporting_month('coalesce(lifecycle.created_at, tickets.created_at)') }}
            as created_month,
            coalesce(lifecycle.is_outbound, false) as is_outbound,
            lifecycle.first_reply_at,
            lifecycle.first_solved_at,
            lifecycle.last_solved_at,
            lifecycle.full_resolved_at,
            {{ reporting_month('lifecycle.full_resolved_at') }} as resolved_month,
            coalesce(lifecycle.solve_count, 0) as solve_count,
            coalesce(lifecycle.solve_count, 0) > 0 as is_solved,
            coalesce(lifecycle.reopen_count, 0) as reopen_count,
            coalesce(lifecycle.is_reopened, false) as is_reopened,
            coalesce(lifecycle.public_agent_reply_count, 0) as public_agent_reply_count,
            coalesce(lifecycle.is_one_touch, false) as is_one_touch,
            coalesce(lifecycle.end_user_comment_count, 0) as end_user_comment_count,
            coalesce(lifecycle.unknown_author_comment_count, 0) as unknown_author_comment_count,
            coalesce(lifecycle.is_escalated, false) as is_escalated,
            lifecycle.escalated_at,
            lifecycle.first_reply_calendar_minutes,
            lifecycle.first_reply_business_minutes,
            lifecycle.full_resolution_calendar_minutes,
            lifecycle.full_resolution_business_minutes
        from tickets
        left join lifecycle on lifecycle.ticket_id = tickets.ticket_id
        left join ticket_accounts on ticket_accounts.ticket_id = tickets.ticket_id
        left join customers on customers.account_id = ticket_accounts.account_id
        left join groups on groups.group_id = tickets.group_id
        left join subject_tags on subject_tags.ticket_id = tickets.ticket_id
    )

select
    ticket_id,
    account_id,
    segment,
    region,
    plan,
    subject,
    subject_topics,
    subject_primary_topic,
    subject_sentiment,
    requester_comment_sentiment,
    requester_comment_min_sentiment,
    priority,
    status,
    ticket_type,
    via_channel,
    requester_id,
    agent_id,
    group_id,
    group_name,
    organization_id,
    created_at,
    created_month,
    is_outbound,
    first_reply_at,
    first_solved_at,
    last_solved_at,
    full_resolved_at,
    resolved_month,
    solve_count,
    is_solved,
    reopen_count,
    is_reopened,
    public_agent_reply_count,
    is_one_touch,
    end_user_comment_count,
    unknown_author_comment_count,
    is_escalated,
    escalated_at,
    first_reply_calendar_minutes,
    first_reply_business_minutes,
    full_resolution_calendar_minutes,
    full_resolution_business_minutes
from final
