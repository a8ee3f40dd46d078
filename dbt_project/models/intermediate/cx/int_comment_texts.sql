{#-
    Every customer-written text the CX marts tag (comment tagging, int_comment_tags): survey
    comments (Qualtrics, Delighted, Zendesk satisfaction ratings), ticket subjects, and the
    public comments requesters and other end-users write on tickets. One row per text
    occurrence; text_hash (MD5 of the exact text) is the key of its tags.
    Incremental (delete+insert on text_source and source_id): a run adds only the texts
    whose source rows were loaded since the last run (watermark loaded_at), so the
    millions of ticket comments are hashed once.
-#}
{{
    config(
        materialized="incremental",
        unique_key=["text_source", "source_id"],
        incremental_strategy="delete+insert",
        on_schema_change="append_new_columns",
    )
}}

with

    qualtrics as (
        select
            'qualtrics_response' as text_source,
            response_id as source_id,
            comment as text,
            loaded_at
        from {{ ref('stg_qualtrics__survey_responses') }}
        where comment is not null and not is_deleted
    ),

    delighted as (
        select
            'delighted_response' as text_source,
            response_id as source_id,
            comment as text,
            loaded_at
        from {{ ref('stg_delighted__survey_responses') }}
        where comment is not null and not is_deleted
    ),

    satisfaction_ratings as (
        select
            'zendesk_satisfaction_rating' as text_source,
            cast(satisfaction_rating_id as varchar) as source_id,
            nullif(trim(comment), '') as text,
            loaded_at
        from {{ ref('stg_zendesk__satisfaction_ratings') }}
        where is_response and not is_deleted and nullif(trim(comment), '') is not null
    ),

    ticket_subjects as (
        select
            'zendesk_ticket_subject' as text_source,
            cast(ticket_id as varchar) as source_id,
            nullif(trim(subject), '') as text,
            loaded_at
        from {{ ref('stg_zendesk__tickets') }}
        where nullif(trim(subject), '') is not null
    ),

    agents as (
        select user_id from {{ ref('stg_zendesk__users') }} where role in ('agent', 'admin')
    ),

    ticket_comments as (
        select
            'zendesk_ticket_comment' as text_source,
            cast(children.child_event_id as varchar) as source_id,
            children.body as text,
            children.loaded_at
        from {{ ref('int_zendesk__ticket_event_children') }} as children
        left join agents on agents.user_id = children.author_id
        where
            children.child_event_type = 'Comment'
            and children.is_public
            and children.body is not null
            and agents.user_id is null
    ),

    unioned as (
        select text_source, source_id, text, loaded_at
        from qualtrics
        union all
        select text_source, source_id, text, loaded_at
        from delighted
        union all
        select text_source, source_id, text, loaded_at
        from satisfaction_ratings
        union all
        select text_source, source_id, text, loaded_at
        from ticket_subjects
        union all
        select text_source, source_id, text, loaded_at
        from ticket_comments
    ),

    new_texts as (
        select text_source, source_id, text, loaded_at
        from unioned
        {% if is_incremental() %}
            where
                loaded_at
                > (select coalesce(max(loaded_at), timestamp '1900-01-01') from {{ this }})
        {% endif %}
    )

select text_source, source_id, md5(text) as text_hash, text, loaded_at
from new_texts
