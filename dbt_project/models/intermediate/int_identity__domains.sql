{#-
    One row per host: its registered domain under the Public Suffix List, and whether
    that is a free-mail or an internal (vendor) domain — the two kinds that never identify
    a customer.
-#}
with

    hosts as (select host from {{ ref('int_identity__hosts') }}),

    free_mail as (select lower(trim(domain)) as domain from {{ ref('free_email_domains') }}),

    registered as (select host, {{ registered_domain('host') }} as registered_domain from hosts),

    flagged as (
        select
            registered.host,
            registered.registered_domain,
            exists (
                select 1
                from free_mail
                where free_mail.domain in (registered.host, registered.registered_domain)
            ) as is_free_mail,
            coalesce(registered.registered_domain, '') in (
                {%- for domain in var('internal_email_domains') %}
                    '{{ domain | lower }}'{% if not loop.last %},{% endif %}
                {%- endfor %}
            )
            or coalesce(registered.host, '') in (
                {%- for domain in var('internal_email_domains') %}
                    '{{ domain | lower }}'{% if not loop.last %},{% endif %}
                {%- endfor %}
            ) as is_internal
        from registered
    )

select
    host,
    registered_domain,
    is_free_mail,
    is_internal,
    registered_domain is not null and not is_free_mail and not is_internal as is_corporate
from flagged
