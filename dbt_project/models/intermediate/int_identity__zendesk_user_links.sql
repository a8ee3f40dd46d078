{#-
    Zendesk end-user (requester) → surviving Salesforce account: override; the user's
    organization when that is linked (inheriting its tier and confidence); an exact
    e-mail match to a Salesforce contact; the corporate e-mail domain. Agents and admins
    are the vendor's staff and are not resolved.
-#}
with

    users as (
        select cast(user_id as varchar) as source_id, organization_id, email, email_domain
        from {{ ref('stg_zendesk__users') }}
        where role = 'end-user' and not is_deleted
    ),

    universe as (select 'zendesk_user' as source_system, source_id from users),

    organization_links as (
        select source_id, account_id, match_method, match_tier, match_confidence
        from {{ ref('int_identity__zendesk_organization_links') }}
        where resolution_status = 'matched'
    ),

    contact_emails as (select * from {{ ref('int_identity__contact_emails') }}),

    domains as (select * from {{ ref('int_identity__domains') }} where is_corporate),

    account_domains as (select * from {{ ref('int_identity__account_domains') }}),

    overrides as ({{ identity_override_candidates('zendesk_user') }}),

    by_organization as (
        select
            'zendesk_user' as source_system,
            users.source_id,
            organization_links.account_id,
            'zendesk_organization' as match_method,
            organization_links.match_tier,
            organization_links.match_confidence,
            'organization '
            || cast(users.organization_id as varchar)
            || ' ('
            || organization_links.match_method
            || ')' as match_evidence
        from users
        inner join
            organization_links
            on organization_links.source_id = cast(users.organization_id as varchar)
    ),

    by_contact_email as (
        select
            'zendesk_user' as source_system,
            users.source_id,
            contact_emails.account_id,
            'contact_email' as match_method,
            'email' as match_tier,
            0.97 as match_confidence,
            'e-mail of contact ' || contact_emails.contact_ids[1] as match_evidence
        from users
        inner join contact_emails on contact_emails.email = users.email
        where not contact_emails.is_ambiguous
    ),

    by_email_domain as (
        select
            'zendesk_user' as source_system,
            users.source_id,
            account_domains.account_id,
            'email_domain' as match_method,
            'email_domain' as match_tier,
            0.9 as match_confidence,
            'e-mail domain ' || domains.registered_domain as match_evidence
        from users
        inner join domains on domains.host = users.email_domain
        inner join account_domains on account_domains.registered_domain = domains.registered_domain
    ),

    candidates as (
        select *
        from overrides
        union all by name
        select *
        from by_organization
        union all by name
        select *
        from by_contact_email
        union all by name
        select *
        from by_email_domain
    ),

    {{ resolve_identity_links('universe', 'candidates') }}

select {{ identity_link_columns() }}
from resolved_links
