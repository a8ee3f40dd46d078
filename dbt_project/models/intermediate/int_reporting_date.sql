{#-
    The reporting date every mart measures "now" against. var('as_of') wins when set;
    otherwise it is the UTC date of the latest activity timestamp found in the sources
    (the sandbox's clock is simulated, so the wall clock would be meaningless, and a real
    warehouse should not report on days it has no data for).
-#}
with

    salesforce as (
        select max(system_modstamp_at) as latest_at
        from {{ ref('stg_salesforce__opportunities') }}
        union all
        select max(system_modstamp_at)
        from {{ ref('stg_salesforce__accounts') }}
        union all
        select max(system_modstamp_at)
        from {{ ref('stg_salesforce__contacts') }}
    ),

    zendesk as (
        select max(updated_at) as latest_at
        from {{ ref('stg_zendesk__tickets') }}
        union all
        select max(created_at)
        from {{ ref('stg_zendesk__ticket_events') }}
    ),

    surveys as (
        select max(recorded_at) as latest_at
        from {{ ref('stg_qualtrics__survey_responses') }}
        union all
        select max(updated_at)
        from {{ ref('stg_delighted__survey_responses') }}
    ),

    product as (select max(server_upload_at) as latest_at from {{ ref('stg_amplitude__events') }}),

    activity as (
        select latest_at
        from salesforce
        union all
        select latest_at
        from zendesk
        union all
        select latest_at
        from surveys
        union all
        select latest_at
        from product
    ),

    latest as (select max(latest_at) as latest_source_at from activity),

    final as (
        select
            {% if var('as_of') %}
                cast('{{ var("as_of") }}' as date) as as_of_date, 'var' as as_of_basis,
            {% else %}
                cast(latest_source_at as date) as as_of_date,
                'latest_source_timestamp' as as_of_basis,
            {% endif %}
            latest_source_at
        from latest
    )

select
    as_of_date,
    cast(date_trunc('month', as_of_date) as date) as as_of_month,
    cast(as_of_date + interval 1 day as timestamp) as as_of_end_at,
    as_of_basis,
    latest_source_at
from final
