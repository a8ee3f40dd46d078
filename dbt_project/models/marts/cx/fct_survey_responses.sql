{#-
    Every survey response in one grain (one row per response): Qualtrics and Delighted
    surveys plus Zendesk satisfaction ratings (good/bad, the support CSAT of record), with
    survey type (NPS, CSAT, CES, PSAT, TXS), touchpoint, score on its scale, the normalised
    category (cx-metrics.md: NPS promoter 9–10 / passive 7–8 / detractor 0–6; CSAT, TXS
    and PSAT satisfied = top two boxes, dissatisfied = bottom two; CES easy 5–7, difficult
    1–3), the comment with its sentiment and topic tags, the respondent's contact and role,
    the customer, and the ticket or opportunity the survey followed.

    Touchpoints: relationship (quarterly relationship NPS; Delighted in-app NPS),
    support_case_closed (support CSAT/CES, Zendesk ratings), onboarding, sales, and
    feature_use (Delighted in-product PSAT/CSAT/CES).
-#}
with

    responses as (
        select
            survey_response_key,
            source_system,
            response_id,
            survey_source,
            survey_id,
            survey_name,
            survey_program,
            touchpoint,
            scale_min,
            scale_max,
            score,
            responded_at,
            account_id,
            match_method
        from {{ ref('int_survey_responses') }}
    ),

    qualtrics as (
        select
            response_id,
            comment,
            external_data_reference,
            recipient_email as respondent_email,
            ticket_id,
            opportunity_id,
            distribution_channel
        from {{ ref('stg_qualtrics__survey_responses') }}
    ),

    delighted_people as (select person_id, email from {{ ref('stg_delighted__people') }}),

    delighted as (
        select
            responses.response_id,
            responses.comment,
            coalesce(responses.person_email, delighted_people.email) as respondent_email,
            responses.role as respondent_role_label,
            responses.feature,
            list_contains(responses.tags, 'followed-up')
            or responses.note_count > 0 as is_followed_up
        from {{ ref('stg_delighted__survey_responses') }} as responses
        left join delighted_people on delighted_people.person_id = responses.person_id
    ),

    satisfaction_ratings as (
        select
            satisfaction_rating_id,
            ticket_id,
            requester_id,
            assignee_id,
            group_id,
            is_satisfied,
            nullif(trim(comment), '') as comment,
            updated_at as responded_at
        from {{ ref('stg_zendesk__satisfaction_ratings') }}
        where is_response and not is_deleted
    ),

    zendesk_users as (select user_id, email from {{ ref('stg_zendesk__users') }}),

    tickets as (select ticket_id, group_id, assignee_id from {{ ref('stg_zendesk__tickets') }}),

    ticket_accounts as (
        select ticket_id, account_id from {{ ref('int_zendesk__ticket_accounts') }}
    ),

    opportunities as (
        select opportunity_id, owner_user_id from {{ ref('stg_salesforce__opportunities') }}
    ),

    contacts as (
        select contact_id, account_id, email_hash, role
        from {{ ref('dim_contacts') }}
        where not is_duplicate
    ),

    comment_tags as (
        select
            texts.text_source,
            texts.source_id,
            tags.sentiment_compound,
            tags.sentiment_label,
            tags.topics,
            tags.primary_topic
        from {{ ref('int_comment_texts') }} as texts
        inner join {{ ref('int_comment_tags') }} as tags on tags.text_hash = texts.text_hash
        where
            texts.text_source
            in ('qualtrics_response', 'delighted_response', 'zendesk_satisfaction_rating')
    ),

    survey_rows as (
        select
            responses.survey_response_key,
            responses.source_system,
            responses.response_id,
            responses.survey_source,
            responses.survey_id,
            responses.survey_name,
            upper(responses.survey_program) as survey_type,
            case
                when responses.survey_source = 'delighted' and responses.survey_program = 'nps'
                then 'relationship'
                when responses.survey_source = 'delighted'
                then 'feature_use'
                else responses.touchpoint
            end as touchpoint,
            case
                when responses.survey_source = 'delighted'
                then 'in_app'
                else coalesce(qualtrics.distribution_channel, 'email')
            end as survey_channel,
            responses.scale_min,
            responses.scale_max,
            responses.score,
            coalesce(qualtrics.comment, delighted.comment) as comment,
            coalesce(qualtrics.respondent_email, delighted.respondent_email) as respondent_email,
            qualtrics.external_data_reference as respondent_contact_id,
            delighted.respondent_role_label,
            delighted.feature,
            coalesce(delighted.is_followed_up, false) as is_followed_up_in_source,
            responses.account_id,
            responses.match_method as account_match_method,
            qualtrics.ticket_id,
            qualtrics.opportunity_id,
            responses.responded_at
        from responses
        left join
            qualtrics
            on responses.survey_source = 'qualtrics'
            and qualtrics.response_id = responses.response_id
        left join
            delighted
            on responses.survey_source = 'delighted'
            and delighted.response_id = responses.response_id
    ),

    rating_rows as (
        select
            {{ dbt.hash("'zendesk_satisfaction_rating|' || cast(satisfaction_ratings.satisfaction_rating_id as varchar)") }}
            as survey_response_key,
            'zendesk_satisfaction_rating' as source_system,
            cast(satisfaction_ratings.satisfaction_rating_id as varchar) as response_id,
            'zendesk' as survey_source,
            cast(null as varchar) as survey_id,
            'Zendesk satisfaction rating' as survey_name,
            'CSAT' as survey_type,
            'support_case_closed' as touchpoint,
            'zendesk' as survey_channel,
            0 as scale_min,
            1 as scale_max,
            case when satisfaction_ratings.is_satisfied then 1 else 0 end as score,
            satisfaction_ratings.comment,
            zendesk_users.email as respondent_email,
            cast(null as varchar) as respondent_contact_id,
            cast(null as varchar) as respondent_role_label,
            cast(null as varchar) as feature,
            false as is_followed_up_in_source,
            ticket_accounts.account_id,
            case
                when ticket_accounts.account_id is not null then 'zendesk_ticket'
            end as account_match_method,
            satisfaction_ratings.ticket_id,
            cast(null as varchar) as opportunity_id,
            satisfaction_ratings.responded_at,
            satisfaction_ratings.group_id as rating_group_id,
            satisfaction_ratings.assignee_id as rating_assignee_id
        from satisfaction_ratings
        left join zendesk_users on zendesk_users.user_id = satisfaction_ratings.requester_id
        left join ticket_accounts on ticket_accounts.ticket_id = satisfaction_ratings.ticket_id
    ),

    unioned as (
        select *
        from survey_rows
        union all by name
        select *
        from rating_rows
    ),

    with_contacts as (
        select
            unioned.*,
            coalesce(
                by_id.contact_id,
                (
                    select min(by_email.contact_id)
                    from contacts as by_email
                    where
                        by_email.email_hash = {{ hash_email('unioned.respondent_email') }}
                        and by_email.account_id is not distinct from unioned.account_id
                )
            ) as contact_id
        from unioned
        left join contacts as by_id on by_id.contact_id = unioned.respondent_contact_id
    ),

    classified as (
        select
            with_contacts.survey_response_key,
            with_contacts.source_system,
            with_contacts.response_id,
            with_contacts.survey_source,
            with_contacts.survey_id,
            with_contacts.survey_name,
            with_contacts.survey_type,
            with_contacts.touchpoint,
            with_contacts.survey_channel,
            with_contacts.scale_min,
            with_contacts.scale_max,
            with_contacts.score,
            case
                when with_contacts.survey_type = 'NPS'
                then {{ nps_category('with_contacts.score') }}
                when with_contacts.survey_type = 'CES'
                then
                    case
                        when with_contacts.score >= 5
                        then 'easy'
                        when with_contacts.score = 4
                        then 'neutral'
                        when with_contacts.score is not null
                        then 'difficult'
                    end
                when
                    {{ is_top_two_box('with_contacts.score', 'with_contacts.scale_min', 'with_contacts.scale_max') }}
                then 'satisfied'
                when
                    {{ is_bottom_two_box('with_contacts.score', 'with_contacts.scale_min', 'with_contacts.scale_max') }}
                then 'dissatisfied'
                when with_contacts.score is not null
                then 'neutral'
            end as score_category,
            case
                when with_contacts.survey_type = 'NPS' then {{ nps_code('with_contacts.score') }}
            end as nps_code,
            case
                when with_contacts.survey_type in ('CSAT', 'TXS', 'PSAT')
                then
                    {{ is_top_two_box('with_contacts.score', 'with_contacts.scale_min', 'with_contacts.scale_max') }}
            end as is_satisfied,
            case
                when with_contacts.survey_type = 'CES' then with_contacts.score >= 5
            end as is_easy,
            with_contacts.comment,
            with_contacts.contact_id,
            coalesce(
                contacts.role,
                {{ normalize_contact_role('with_contacts.respondent_role_label') }},
                'unknown'
            ) as respondent_role,
            with_contacts.account_id,
            with_contacts.account_match_method,
            with_contacts.ticket_id,
            coalesce(with_contacts.rating_group_id, tickets.group_id) as ticket_group_id,
            coalesce(with_contacts.rating_assignee_id, tickets.assignee_id) as ticket_agent_id,
            with_contacts.opportunity_id,
            opportunities.owner_user_id as opportunity_owner_user_id,
            with_contacts.feature,
            with_contacts.is_followed_up_in_source,
            with_contacts.responded_at
        from with_contacts
        left join contacts on contacts.contact_id = with_contacts.contact_id
        left join tickets on tickets.ticket_id = with_contacts.ticket_id
        left join opportunities on opportunities.opportunity_id = with_contacts.opportunity_id
    ),

    final as (
        select
            classified.*,
            classified.score_category in ('detractor', 'dissatisfied', 'difficult') as is_negative,
            comment_tags.sentiment_compound as comment_sentiment,
            comment_tags.sentiment_label as comment_sentiment_label,
            comment_tags.topics as comment_topics,
            comment_tags.primary_topic as comment_primary_topic,
            {{ reporting_month('classified.responded_at') }} as response_month,
            {{ reporting_quarter('classified.responded_at') }} as response_quarter
        from classified
        left join
            comment_tags
            on comment_tags.text_source = classified.source_system
            and comment_tags.source_id = classified.response_id
    )

select
    survey_response_key,
    source_system,
    response_id,
    survey_source,
    survey_id,
    survey_name,
    survey_type,
    touchpoint,
    survey_channel,
    scale_min,
    scale_max,
    score,
    score_category,
    nps_code,
    is_satisfied,
    is_easy,
    is_negative,
    comment,
    comment_sentiment,
    comment_sentiment_label,
    comment_topics,
    comment_primary_topic,
    contact_id,
    respondent_role,
    case
        when respondent_role = 'decision_maker'
        then 'decision_makers'
        when respondent_role = 'unknown'
        then 'unknown'
        else 'users'
    end as respondent_role_group,
    account_id,
    account_match_method,
    ticket_id,
    ticket_group_id,
    ticket_agent_id,
    opportunity_id,
    opportunity_owner_user_id,
    feature,
    is_followed_up_in_source,
    responded_at,
    response_month,
    response_quarter
from final
