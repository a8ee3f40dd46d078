{#-
    Zendesk ticket audits unnested into their child events, one row per child: the field
    changes (status, priority, group_id, assignee_id, tags …), creations and comments that
    every support metric is computed from (cx-metrics.md, "from the ticket events stream").
    Incremental on the staging model's loaded_at: a run unnests only audits loaded since the
    last one (delete+insert on the audit id, so a re-delivered audit replaces its children).
    Status values are normalised: 'on-hold' and 'on_hold' → 'hold' (the Fivetran package's
    status buckets lose 'on-hold').
-#}
{{
    config(
        materialized="incremental",
        unique_key="ticket_event_id",
        incremental_strategy="delete+insert",
        on_schema_change="append_new_columns",
    )
}}

with

    audits as (
        select ticket_event_id, ticket_id, updater_id, created_at, child_events, loaded_at
        from {{ ref('stg_zendesk__ticket_events') }}
        where
            not is_deleted
            {% if is_incremental() %}
                and loaded_at
                > (select coalesce(max(loaded_at), timestamp '1900-01-01') from {{ this }})
            {% endif %}
    ),

    unnested as (
        select
            audits.ticket_event_id,
            audits.ticket_id,
            audits.updater_id,
            audits.created_at,
            audits.loaded_at,
            unnest(
                from_json(
                    coalesce(cast(audits.child_events as varchar), '[]'),
                    '[{"id": "BIGINT", "event_type": "VARCHAR", "field_name": "VARCHAR", "value": "JSON", "previous_value": "JSON", "author_id": "BIGINT", "public": "BOOLEAN", "body": "VARCHAR"}]'
                )
            ) as child
        from audits
    ),

    flattened as (
        select
            child.id as child_event_id,
            ticket_event_id,
            ticket_id,
            updater_id,
            created_at,
            child.event_type as child_event_type,
            child.field_name,
            case
                when json_type(child.value) = 'VARCHAR'
                then child.value ->> '$'
                when child.value is not null and json_type(child.value) <> 'NULL'
                then cast(child.value as varchar)
            end as value_text,
            case
                when json_type(child.previous_value) = 'VARCHAR'
                then child.previous_value ->> '$'
                when child.previous_value is not null and json_type(child.previous_value) <> 'NULL'
                then cast(child.previous_value as varchar)
            end as previous_value_text,
            child.author_id,
            child.public as is_public,
            nullif(trim(child.body), '') as body,
            loaded_at
        from unnested
    ),

    normalised as (
        select
            child_event_id,
            ticket_event_id,
            ticket_id,
            updater_id,
            created_at,
            child_event_type,
            field_name,
            case
                when field_name = 'status' and lower(value_text) in ('on-hold', 'on_hold')
                then 'hold'
                when field_name = 'status'
                then lower(value_text)
                else value_text
            end as value,
            case
                when field_name = 'status' and lower(previous_value_text) in ('on-hold', 'on_hold')
                then 'hold'
                when field_name = 'status'
                then lower(previous_value_text)
                else previous_value_text
            end as previous_value,
            author_id,
            is_public,
            body,
            loaded_at
        from flattened
    )

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
from normalised
