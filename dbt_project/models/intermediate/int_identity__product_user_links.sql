{#-
    Amplitude user → surviving Salesforce account: override; the workspace the user was
    last active in, when that workspace is linked; an exact e-mail match to a contact or
    to a resolved Zendesk user; the corporate e-mail domain.
-#}
with

    users as (
        select user_id as source_id, user_email, user_email_domain, latest_workspace_id
        from {{ ref('int_amplitude__users') }}
    ),

    universe as (select 'amplitude_user' as source_system, source_id from users),

    workspace_links as (
        select source_id, account_id, match_method, match_tier, match_confidence
        from {{ ref('int_identity__workspace_links') }}
        where resolution_status = 'matched'
    ),

    contact_emails as (select * from {{ ref('int_identity__contact_emails') }}),

    support_user_links as (
        select zendesk_users.email, links.account_id, links.match_confidence
        from {{ ref('int_identity__zendesk_user_links') }} as links
        inner join
            {{ ref('stg_zendesk__users') }} as zendesk_users
            on cast(zendesk_users.user_id as varchar) = links.source_id
        where links.resolution_status = 'matched' and zendesk_users.email is not null
    ),

    domains as (select * from {{ ref('int_identity__domains') }} where is_corporate),

    account_domains as (select * from {{ ref('int_identity__account_domains') }}),

    overrides as ({{ identity_override_candidates('amplitude_user') }}),

    by_workspace as (
        select
            'amplitude_user' as source_system,
            users.source_id,
            workspace_links.account_id,
            'product_workspace' as match_method,
            workspace_links.match_tier,
            workspace_links.match_confidence,
            'workspace '
            || users.latest_workspace_id
            || ' ('
            || workspace_links.match_method
            || ')' as match_evidence
        from users
        inner join workspace_links on workspace_links.source_id = users.latest_workspace_id
    ),

    by_contact_email as (
        select
            'amplitude_user' as source_system,
            users.source_id,
            contact_emails.account_id,
            'contact_email' as match_method,
            'email' as match_tier,
            0.97 as match_confidence,
            'e-mail of contact ' || contact_emails.contact_ids[1] as match_evidence
        from users
        inner join contact_emails on contact_emails.email = users.user_email
        where not contact_emails.is_ambiguous
    ),

    by_support_user_email as (
        select
            'amplitude_user' as source_system,
            users.source_id,
            support_user_links.account_id,
            'support_user_email' as match_method,
            'email' as match_tier,
            least(0.95, support_user_links.match_confidence) as match_confidence,
            'e-mail of a resolved Zendesk user' as match_evidence
        from users
        inner join support_user_links on support_user_links.email = users.user_email
    ),

    by_email_domain as (
        select
            'amplitude_user' as source_system,
            users.source_id,
            account_domains.account_id,
            'email_domain' as match_method,
            'email_domain' as match_tier,
            0.9 as match_confidence,
            'e-mail domain ' || domains.registered_domain as match_evidence
        from users
        inner join domains on domains.host = users.user_email_domain
        inner join account_domains on account_domains.registered_domain = domains.registered_domain
    ),

    candidates as (
        select *
        from overrides
        union all by name
        select *
        from by_workspace
        union all by name
        select *
        from by_contact_email
        union all by name
        select *
        from by_support_user_email
        union all by name
        select *
        from by_email_domain
    ),

    {{ resolve_identity_links('universe', 'candidates') }}

select {{ identity_link_columns() }}
from resolved_links
