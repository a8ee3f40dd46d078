{#-
    Registered corporate domains claimed by surviving accounts, with the evidence: the
    account's web site, the e-mail domains of its contacts, and the domain list of Zendesk
    organizations that carry the account's id. A domain claimed by more than one account
    (subsidiaries sharing a parent's domain, resellers) is ambiguous: identity resolution
    never picks one of its accounts from the domain alone.
-#}
with

    domains as (
        select host, registered_domain from {{ ref('int_identity__domains') }} where is_corporate
    ),

    survivors as (
        select account_id, surviving_account_id
        from {{ ref('int_salesforce__account_survivors') }}
        where surviving_account_id is not null
    ),

    websites as (
        select
            survivors.surviving_account_id as account_id,
            accounts.website_host as host,
            'website' as evidence
        from {{ ref('stg_salesforce__accounts') }} as accounts
        inner join survivors on survivors.account_id = accounts.account_id
        where accounts.website_host is not null
    ),

    contact_emails as (
        select
            survivors.surviving_account_id as account_id,
            contacts.email_domain as host,
            'contact_email' as evidence
        from {{ ref('stg_salesforce__contacts') }} as contacts
        inner join survivors on survivors.account_id = contacts.account_id
        where contacts.email_domain is not null and not contacts.is_deleted
    ),

    organizations as (
        select
            survivors.surviving_account_id as account_id,
            lower(trim(unnest(organizations.domain_names))) as host,
            'zendesk_organization_with_account_id' as evidence
        from {{ ref('stg_zendesk__organizations') }} as organizations
        inner join survivors on survivors.account_id = organizations.external_id
        where not organizations.is_deleted
    ),

    claims as (
        select account_id, host, evidence
        from websites
        union all
        select account_id, host, evidence
        from contact_emails
        union all
        select account_id, host, evidence
        from organizations
    ),

    by_account as (
        select
            domains.registered_domain,
            claims.account_id,
            list_sort(list_distinct(list(claims.evidence))) as evidence
        from claims
        inner join domains on domains.host = claims.host
        group by domains.registered_domain, claims.account_id
    )

select
    registered_domain,
    account_id,
    evidence,
    count(*) over (partition by registered_domain) as domain_account_count,
    count(*) over (partition by registered_domain) > 1 as is_ambiguous
from by_account
