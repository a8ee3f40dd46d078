{#-
    One row per Zendesk ticket, computed from its event stream (cx-metrics.md, support
    metrics; not trusted from ticket_metrics): creation, first agent reply, solves and
    reopens, escalation, public agent replies, and the calendar and business minutes of
    first reply and full resolution against the business_hours schedule (var
    business_hours_schedule).

    - First reply: the first public comment by an agent or admin other than the requester;
      a ticket opened by an agent (outbound) has none.
    - Full resolution: creation → the last time the status became solved (closed when it
      never was solved); first resolution: → the first time.
    - Reopen: each transition from solved back to new/open/pending/hold.
    - Escalated: priority raised to urgent, moved into a group of seed escalation_groups,
      or tagged var escalation_tag (default 'escalated').
    - Comments by authors missing from the user table and tickets whose requester is
      missing are kept (left joins) and counted as unknown authors — never dropped.

    Incremental: each run recomputes only the tickets that received events since the last
    run (delete+insert on ticket_id), reading all of those tickets' events.
-#}
{{
    config(
        materialized="incremental",
        unique_key="ticket_id",
        incremental_strategy="delete+insert",
        on_schema_change="append_new_columns",
    )
}}

with

    children as (
        select
            child_event_id,
            ticket_event_id,
            ticket_id,
            updater_id,
            created_at,
            child_event_type,
            field_name,
            value,
            previous_value,
            author_id,
            is_public,
            body,
            loaded_at
        from {{ ref('int_zendesk__ticket_event_children') }}
        {% if is_incremental() %}
            where
                ticket_id in (
                    select ticket_id
                    from {{ ref('int_zendesk__ticket_event_children') }}
                    where
                        loaded_at > (
                            select coalesce(max(events_loaded_at), timestamp '1900-01-01')
                            from {{ this }}
                        )
                )
        {% endif %}
    ),

    tickets as (
        select ticket_id, requester_id, submitter_id, created_at, tags
        from {{ ref('stg_zendesk__tickets') }}
    ),

    users as (select user_id, role from {{ ref('stg_zendesk__users') }}),

    escalation_groups as (
        select groups.group_id
        from {{ ref('stg_zendesk__groups') }} as groups
        inner join
            {{ ref('escalation_groups') }} as escalation_groups
            on lower(escalation_groups.group_name) = lower(groups.group_name)
    ),

    comment_tags as (select text_hash, sentiment_compound from {{ ref('int_comment_tags') }}),

    windows as (
        select window_start_at, window_seconds, cumulative_seconds_before
        from {{ ref('int_business_hours__windows') }}
        where schedule_name = '{{ cx_var("business_hours_schedule") }}'
    ),

    ticket_ids as (
        select
            ticket_id,
            min(created_at) as first_event_at,
            arg_min(updater_id, created_at) as creator_id,
            max(loaded_at) as events_loaded_at
        from children
        group by ticket_id
    ),

    opened as (
        select
            ticket_ids.ticket_id,
            coalesce(tickets.created_at, ticket_ids.first_event_at) as created_at,
            tickets.requester_id,
            coalesce(tickets.submitter_id, ticket_ids.creator_id) as submitter_id,
            coalesce(creators.role in ('agent', 'admin'), false)
            and coalesce(tickets.submitter_id, ticket_ids.creator_id)
            is distinct from tickets.requester_id as is_outbound,
            coalesce(
                list_contains(tickets.tags, '{{ cx_var("escalation_tag") }}'), false
            ) as has_escalation_tag_now,
            ticket_ids.events_loaded_at
        from ticket_ids
        left join tickets on tickets.ticket_id = ticket_ids.ticket_id
        left join
            users as creators
            on creators.user_id = coalesce(tickets.submitter_id, ticket_ids.creator_id)
    ),

    statuses as (
        select
            ticket_id,
            created_at,
            value as status,
            lag(value) over (
                partition by ticket_id order by created_at, child_event_id
            ) as previous_status
        from children
        where field_name = 'status' and child_event_type in ('Create', 'Change')
    ),

    resolution as (
        select
            ticket_id,
            min(created_at) filter (
                where status = 'solved' and previous_status is distinct from 'solved'
            ) as first_solved_at,
            max(created_at) filter (
                where status = 'solved' and previous_status is distinct from 'solved'
            ) as last_solved_at,
            min(created_at) filter (
                where status = 'closed' and previous_status is distinct from 'closed'
            ) as first_closed_at,
            count(*) filter (
                where status = 'solved' and previous_status is distinct from 'solved'
            ) as solve_count,
            count(*) filter (
                where previous_status = 'solved' and status in ('new', 'open', 'pending', 'hold')
            ) as reopen_count,
            arg_max(status, created_at) as latest_status
        from statuses
        group by ticket_id
    ),

    comments as (
        select
            children.ticket_id,
            children.child_event_id,
            children.created_at,
            children.is_public,
            children.body,
            case
                when children.author_id = opened.requester_id
                then 'requester'
                when users.role in ('agent', 'admin')
                then 'agent'
                when users.role = 'end-user'
                then 'end_user'
                else 'unknown'
            end as author_kind,
            row_number() over (
                partition by children.ticket_id
                order by children.created_at, children.child_event_id
            )
            = 1 as is_opening_comment,
            opened.is_outbound
        from children
        inner join opened on opened.ticket_id = children.ticket_id
        left join users on users.user_id = children.author_id
        where children.child_event_type = 'Comment'
    ),

    replies as (
        select
            ticket_id,
            min(created_at) filter (
                where
                    is_public
                    and author_kind = 'agent'
                    and not is_outbound
                    and not is_opening_comment
            ) as first_reply_at,
            count(*) filter (
                where is_public and author_kind = 'agent' and not is_opening_comment
            ) as public_agent_reply_count,
            count(*) filter (where author_kind = 'agent') as agent_comment_count,
            count(*) filter (
                where author_kind in ('requester', 'end_user')
            ) as end_user_comment_count,
            count(*) filter (where author_kind = 'unknown') as unknown_author_comment_count,
            count(*) filter (where is_public) as public_comment_count,
            count(*) filter (where not is_public) as internal_comment_count
        from comments
        group by ticket_id
    ),

    requester_sentiment as (
        select
            comments.ticket_id,
            round(avg(comment_tags.sentiment_compound), 4) as requester_comment_sentiment,
            round(min(comment_tags.sentiment_compound), 4) as requester_comment_min_sentiment
        from comments
        inner join comment_tags on comment_tags.text_hash = md5(comments.body)
        where comments.is_public and comments.author_kind in ('requester', 'end_user')
        group by comments.ticket_id
    ),

    escalations as (
        select
            children.ticket_id,
            min(children.created_at) as escalated_at,
            bool_or(children.field_name = 'priority') as was_raised_to_urgent,
            bool_or(children.field_name = 'group_id') as was_moved_to_escalation_group,
            bool_or(children.field_name = 'tags') as was_tagged_escalated
        from children
        left join escalation_groups on cast(escalation_groups.group_id as varchar) = children.value
        where
            children.child_event_type = 'Change'
            and (
                (
                    children.field_name = 'priority'
                    and children.value = 'urgent'
                    and children.previous_value is distinct from 'urgent'
                )
                or (children.field_name = 'group_id' and escalation_groups.group_id is not null)
                or (
                    children.field_name = 'tags'
                    and list_contains(
                        from_json(children.value, '["VARCHAR"]'), '{{ cx_var("escalation_tag") }}'
                    )
                    and not coalesce(
                        list_contains(
                            from_json(children.previous_value, '["VARCHAR"]'),
                            '{{ cx_var("escalation_tag") }}'
                        ),
                        false
                    )
                )
            )
        group by children.ticket_id
    ),

    combined as (
        select
            opened.ticket_id,
            opened.created_at,
            opened.requester_id,
            opened.submitter_id,
            opened.is_outbound,
            resolution.latest_status,
            replies.first_reply_at,
            resolution.first_solved_at,
            resolution.last_solved_at,
            coalesce(resolution.first_solved_at, resolution.first_closed_at) as first_resolved_at,
            coalesce(resolution.last_solved_at, resolution.first_closed_at) as full_resolved_at,
            coalesce(resolution.solve_count, 0) as solve_count,
            coalesce(resolution.reopen_count, 0) as reopen_count,
            coalesce(replies.public_agent_reply_count, 0) as public_agent_reply_count,
            coalesce(replies.agent_comment_count, 0) as agent_comment_count,
            coalesce(replies.end_user_comment_count, 0) as end_user_comment_count,
            coalesce(replies.unknown_author_comment_count, 0) as unknown_author_comment_count,
            coalesce(replies.public_comment_count, 0) as public_comment_count,
            coalesce(replies.internal_comment_count, 0) as internal_comment_count,
            requester_sentiment.requester_comment_sentiment,
            requester_sentiment.requester_comment_min_sentiment,
            escalations.escalated_at is not null or opened.has_escalation_tag_now as is_escalated,
            escalations.escalated_at,
            coalesce(escalations.was_raised_to_urgent, false) as was_raised_to_urgent,
            coalesce(
                escalations.was_moved_to_escalation_group, false
            ) as was_moved_to_escalation_group,
            coalesce(escalations.was_tagged_escalated, false)
            or opened.has_escalation_tag_now as was_tagged_escalated,
            opened.events_loaded_at
        from opened
        left join resolution on resolution.ticket_id = opened.ticket_id
        left join replies on replies.ticket_id = opened.ticket_id
        left join requester_sentiment on requester_sentiment.ticket_id = opened.ticket_id
        left join escalations on escalations.ticket_id = opened.ticket_id
    ),

    business_created as (
        select
            combined.ticket_id,
            {{ business_seconds_at('combined.created_at', 'windows') }} as business_seconds
        from combined
        asof left join windows on combined.created_at >= windows.window_start_at
    ),

    business_first_reply as (
        select
            combined.ticket_id,
            {{ business_seconds_at('combined.first_reply_at', 'windows') }} as business_seconds
        from combined
        asof left join windows on combined.first_reply_at >= windows.window_start_at
    ),

    business_first_resolved as (
        select
            combined.ticket_id,
            {{ business_seconds_at('combined.first_resolved_at', 'windows') }} as business_seconds
        from combined
        asof left join windows on combined.first_resolved_at >= windows.window_start_at
    ),

    business_full_resolved as (
        select
            combined.ticket_id,
            {{ business_seconds_at('combined.full_resolved_at', 'windows') }} as business_seconds
        from combined
        asof left join windows on combined.full_resolved_at >= windows.window_start_at
    ),

    final as (
        select
            combined.*,
            round(
                (epoch(combined.first_reply_at) - epoch(combined.created_at)) / 60.0, 2
            ) as first_reply_calendar_minutes,
            round(
                (business_first_reply.business_seconds - business_created.business_seconds) / 60.0,
                2
            ) as first_reply_business_minutes,
            round(
                (epoch(combined.first_resolved_at) - epoch(combined.created_at)) / 60.0, 2
            ) as first_resolution_calendar_minutes,
            round(
                (business_first_resolved.business_seconds - business_created.business_seconds)
                / 60.0,
                2
            ) as first_resolution_business_minutes,
            round(
                (epoch(combined.full_resolved_at) - epoch(combined.created_at)) / 60.0, 2
            ) as full_resolution_calendar_minutes,
            round(
                (business_full_resolved.business_seconds - business_created.business_seconds)
                / 60.0,
                2
            ) as full_resolution_business_minutes
        from combined
        left join business_created on business_created.ticket_id = combined.ticket_id
        left join business_first_reply on business_first_reply.ticket_id = combined.ticket_id
        left join business_first_resolved on business_first_resolved.ticket_id = combined.ticket_id
        left join business_full_resolved on business_full_resolved.ticket_id = combined.ticket_id
    )

select
    ticket_id,
    created_at,
    requester_id,
    submitter_id,
    is_outbound,
    latest_status,
    first_reply_at,
    first_solved_at,
    last_solved_at,
    first_resolved_at,
    full_resolved_at,
    solve_count,
    reopen_count,
    reopen_count > 0 as is_reopened,
    public_agent_reply_count,
    solve_count > 0 and public_agent_reply_count = 1 as is_one_touch,
    agent_comment_count,
    end_user_comment_count,
    unknown_author_comment_count,
    public_comment_count,
    internal_comment_count,
    requester_comment_sentiment,
    requester_comment_min_sentiment,
    is_escalated,
    escalated_at,
    was_raised_to_urgent,
    was_moved_to_escalation_group,
    was_tagged_escalated,
    first_reply_calendar_minutes,
    first_reply_business_minutes,
    first_resolution_calendar_minutes,
    first_resolution_business_minutes,
    full_resolution_calendar_minutes,
    full_resolution_business_minutes,
    events_loaded_at
from final
