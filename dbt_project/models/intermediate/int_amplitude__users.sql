{#-
    One row per Amplitude user id: the last e-mail and role seen, and every workspace.
    A keyed-hash e-mail (tap-amplitude's default) is turned back into the address when a
    contact, support user or respondent has it (int_identity__email_hmacs).
-#}
with

    email_hmacs as (
        select email_hmac, min(email) as email
        from {{ ref('int_identity__email_hmacs') }}
        group by email_hmac
    ),

    events as (
        select
            events.user_id,
            events.workspace_id,
            coalesce(events.user_email, email_hmacs.email) as user_email,
            events.user_email_hmac,
            events.user_role,
            events.event_at
        from {{ ref('stg_amplitude__events') }} as events
        left join email_hmacs on email_hmacs.email_hmac = events.user_email_hmac
        where events.user_id is not null and not events.is_deleted
    ),

    per_user as (
        select
            user_id,
            arg_max(user_email, event_at) filter (where user_email is not null) as user_email,
            arg_max(user_email_hmac, event_at) filter (
                where user_email_hmac is not null
            ) as user_email_hmac,
            arg_max(user_role, event_at) filter (where user_role is not null) as user_role,
            arg_max(workspace_id, event_at) filter (
                where workspace_id is not null
            ) as latest_workspace_id,
            list_sort(list_distinct(list(workspace_id))) as workspace_ids,
            count(*) as event_count,
            min(event_at) as first_event_at,
            max(event_at) as last_event_at
        from events
        group by user_id
    )

select
    user_id,
    user_email,
    {{ email_domain('user_email') }} as user_email_domain,
    user_email_hmac,
    user_role,
    latest_workspace_id,
    workspace_ids,
    event_count,
    first_event_at,
    last_event_at
from per_user
