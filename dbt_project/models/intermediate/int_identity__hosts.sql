{#- Every host seen in an e-mail address, web site or Zendesk domain list, with where. -#}
with

    contacts as (
        select email_domain as host, 'salesforce_contact_email' as seen_in
        from {{ ref('stg_salesforce__contacts') }}
    ),

    websites as (
        select website_host as host, 'salesforce_account_website' as seen_in
        from {{ ref('stg_salesforce__accounts') }}
    ),

    zendesk_users as (
        select email_domain as host, 'zendesk_user_email' as seen_in
        from {{ ref('stg_zendesk__users') }}
    ),

    zendesk_organizations as (
        select lower(trim(unnest(domain_names))) as host, 'zendesk_organization_domain' as seen_in
        from {{ ref('stg_zendesk__organizations') }}
    ),

    qualtrics as (
        select recipient_email_domain as host, 'qualtrics_recipient_email' as seen_in
        from {{ ref('stg_qualtrics__survey_responses') }}
    ),

    delighted as (
        select email_domain as host, 'delighted_person_email' as seen_in
        from {{ ref('stg_delighted__people') }}
        union all
        select person_email_domain as host, 'delighted_person_email' as seen_in
        from {{ ref('stg_delighted__survey_responses') }}
    ),

    amplitude as (
        select user_email_domain as host, 'amplitude_user_email' as seen_in
        from {{ ref('int_amplitude__users') }}
    ),

    unioned as (
        select host, seen_in
        from contacts
        union all
        select host, seen_in
        from websites
        union all
        select host, seen_in
        from zendesk_users
        union all
        select host, seen_in
        from zendesk_organizations
        union all
        select host, seen_in
        from qualtrics
        union all
        select host, seen_in
        from delighted
        union all
        select host, seen_in
        from amplitude
    )

select host, list_sort(list_distinct(list(seen_in))) as seen_in
from unioned
where host is not null and host <> ''
group by host
