{#-
    Product usage per user, workspace and UTC day: the grain every usage window in the
    marts is computed from (far smaller than the event stream).
-#}
with

    events as (
        select user_id, workspace_id, event_type, event_at
        from {{ ref('stg_amplitude__events') }}
        where user_id is not null and not is_deleted
    )

select
    {{ dbt.hash("user_id || '|' || coalesce(workspace_id, '') || '|' || cast(cast(event_at as date) as varchar)") }}
    as user_day_id,
    user_id,
    workspace_id,
    cast(event_at as date) as activity_date,
    count(*) as event_count,
    count(*) filter (
        where
            event_type in (
                {%- for event in var('usage_qualifying_events') %}
                    '{{ event }}'{% if not loop.last %},{% endif %}
                {%- endfor %}
            )
    ) as qualifying_event_count,
    max(event_at) as last_event_at
from events
group by user_id, workspace_id, cast(event_at as date)
