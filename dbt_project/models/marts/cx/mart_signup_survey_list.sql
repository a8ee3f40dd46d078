{#-
    The signup (onboarding) survey list: every product user, with the day their survey is
    due — var signup_survey_delay_days (28) after signup, signup being the user's first
    product event — and whether to send it: is_due when the due date falls in the 7 days
    ending on the reporting date, the user has not answered any survey since signing up,
    and has not been surveyed within var survey_pacing_days. One row per product user; the
    e-mail is given as a SHA-256 hash (join to the survey tool's contact list), never in
    clear.
-#}
with

    reporting as (select as_of_date from {{ ref('int_reporting_date') }}),

    users as (
        select user_id, user_email, user_role, latest_workspace_id, first_event_at, last_event_at
        from {{ ref('int_amplitude__users') }}
    ),

    workspace_links as (
        select source_id as workspace_id, account_id
        from {{ ref('int_identity__workspace_links') }}
        where resolution_status = 'matched'
    ),

    respondent_emails as (
        select email_hash, max(responded_at) as last_response_at
        from
            (
                select
                    {{ hash_email('recipient_email') }} as email_hash, recorded_at as responded_at
                from {{ ref('stg_qualtrics__survey_responses') }}
                union all
                select {{ hash_email('person_email') }}, created_at
                from {{ ref('stg_delighted__survey_responses') }}
            ) as answered
        where email_hash is not null
        group by email_hash
    ),

    final as (
        select
            users.user_id,
            workspace_links.account_id,
            users.latest_workspace_id as workspace_id,
            users.user_role,
            {{ hash_email('users.user_email') }} as email_hash,
            users.first_event_at as signed_up_at,
            cast(users.first_event_at as date)
            + {{ cx_var('signup_survey_delay_days') }} as survey_due_date,
            respondent_emails.last_response_at,
            respondent_emails.last_response_at is not null
            and respondent_emails.last_response_at
            >= users.first_event_at as has_answered_since_signup,
            respondent_emails.last_response_at is not null
            and cast(respondent_emails.last_response_at as date)
            > reporting.as_of_date - {{ cx_var('survey_pacing_days') }} as is_in_pacing_window,
            reporting.as_of_date
        from users
        cross join reporting
        left join workspace_links on workspace_links.workspace_id = users.latest_workspace_id
        left join
            respondent_emails on respondent_emails.email_hash = {{ hash_email('users.user_email') }}
    )

select
    user_id,
    account_id,
    workspace_id,
    user_role,
    email_hash,
    signed_up_at,
    survey_due_date,
    last_response_at,
    has_answered_since_signup,
    is_in_pacing_window,
    survey_due_date between as_of_date - 6 and as_of_date
    and email_hash is not null
    and not has_answered_since_signup
    and not is_in_pacing_window as is_due
from final
