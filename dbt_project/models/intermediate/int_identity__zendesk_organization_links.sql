{#-
    Zendesk organization → surviving Salesforce account, in the order of trust:
    override; the Salesforce account id in external_id; the organization's own domain
    list; its members' e-mail addresses (exact contact matches, then corporate domains);
    the normalised company name confirmed by similarity and a second signal (domain
    evidence, a same-named organization already anchored to the account, the segment tag
    or the plan field).
-#}
with

    organizations as (
        select
            organization_id,
            cast(organization_id as varchar) as source_id,
            organization_name,
            external_id,
            domain_names,
            tags,
            plan,
            {{ company_name_key('organization_name') }} as name_key,
            replace({{ company_name_tokens('organization_name') }}, ' ', '') as name_clean
        from {{ ref('stg_zendesk__organizations') }}
        where not is_deleted
    ),

    universe as (select 'zendesk_organization' as source_system, source_id from organizations),

    survivors as (select * from {{ ref('int_salesforce__account_survivors') }}),

    domains as (select * from {{ ref('int_identity__domains') }}),

    account_domains as (select * from {{ ref('int_identity__account_domains') }}),

    contact_emails as (select * from {{ ref('int_identity__contact_emails') }}),

    account_names as (select * from {{ ref('int_identity__account_names') }}),

    accounts as (
        select account_id, segment, plan
        from {{ ref('stg_salesforce__accounts') }}
        where not is_deleted
    ),

    members as (
        select users.organization_id, users.user_id, users.email, users.email_domain
        from {{ ref('stg_zendesk__users') }} as users
        where users.role = 'end-user' and not users.is_deleted and users.email is not null
    ),

    overrides as ({{ identity_override_candidates('zendesk_organization') }}),

    by_external_id as (
        select
            'zendesk_organization' as source_system,
            organizations.source_id,
            survivors.surviving_account_id as account_id,
            'salesforce_account_id' as match_method,
            'shared_id' as match_tier,
            0.99 as match_confidence,
            'external_id ' || organizations.external_id as match_evidence
        from organizations
        inner join survivors on survivors.account_id = organizations.external_id
    ),

    organization_domains as (
        select organizations.source_id, domains.registered_domain
        from
            (
                select source_id, lower(trim(unnest(domain_names))) as host from organizations
            ) as organizations
        inner join domains on domains.host = organizations.host
        where domains.is_corporate
    ),

    by_organization_domain as (
        select
            'zendesk_organization' as source_system,
            organization_domains.source_id,
            account_domains.account_id,
            'organization_domain' as match_method,
            'email_domain' as match_tier,
            0.9 as match_confidence,
            'domain_names ' || organization_domains.registered_domain as match_evidence
        from organization_domains
        inner join
            account_domains
            on account_domains.registered_domain = organization_domains.registered_domain
    ),

    member_contacts as (
        select
            cast(members.organization_id as varchar) as source_id,
            contact_emails.account_id,
            contact_emails.is_ambiguous
        from members
        inner join contact_emails on contact_emails.email = members.email
    ),

    by_member_contact_email as (
        select
            'zendesk_organization' as source_system,
            source_id,
            account_id,
            'member_contact_emails' as match_method,
            'email' as match_tier,
            0.95 as match_confidence,
            cast(count(*) as varchar) || ' member(s) are Salesforce contacts' as match_evidence
        from member_contacts
        where not is_ambiguous
        group by source_id, account_id
    ),

    member_domains as (
        select
            cast(members.organization_id as varchar) as source_id,
            account_domains.account_id,
            account_domains.is_ambiguous,
            domains.registered_domain
        from members
        inner join domains on domains.host = members.email_domain and domains.is_corporate
        inner join account_domains on account_domains.registered_domain = domains.registered_domain
    ),

    by_member_email_domain as (
        select
            'zendesk_organization' as source_system,
            source_id,
            account_id,
            'member_email_domains' as match_method,
            'email_domain' as match_tier,
            0.88 as match_confidence,
            'member e-mail domain ' || min(registered_domain) as match_evidence
        from member_domains
        where not is_ambiguous
        group by source_id, account_id
    ),

    {#- Accounts any domain evidence points at, ambiguous domains included: a second signal. -#}
    domain_hints as (
        select organization_domains.source_id, account_domains.account_id
        from organization_domains
        inner join
            account_domains
            on account_domains.registered_domain = organization_domains.registered_domain
        union
        select source_id, account_id
        from member_domains
        union
        select source_id, account_id
        from member_contacts
    ),

    {#-
    Organizations already anchored to one account by an id, domain or member evidence; a
    same-named organization of that account (a duplicate created from an e-mail) gets
    that as its second signal.
-#}
    anchors as (
        select source_id, min(account_id) as account_id
        from
            (
                select source_id, account_id
                from by_external_id
                union all
                select source_id, account_id
                from by_organization_domain
                union all
                select source_id, account_id
                from by_member_contact_email
                union all
                select source_id, account_id
                from by_member_email_domain
            )
        group by source_id
        having count(distinct account_id) = 1
    ),

    sibling_hints as (
        select distinct organizations.source_id, anchors.account_id
        from organizations
        inner join
            organizations as siblings
            on siblings.name_key = organizations.name_key
            and siblings.source_id <> organizations.source_id
        inner join anchors on anchors.source_id = siblings.source_id
    ),

    name_candidates as (
        select
            organizations.source_id,
            account_names.account_id,
            organizations.name_key = account_names.name_key as is_same_key,
            jaro_winkler_similarity(
                organizations.name_clean, account_names.name_clean
            ) as name_similarity,
            jaro_winkler_similarity(
                organizations.name_key, account_names.name_key
            ) as key_similarity,
            domain_hints.account_id is not null as has_domain_signal,
            sibling_hints.account_id is not null as has_sibling_signal,
            list_contains(
                organizations.tags, replace(lower(accounts.segment), '-', '_')
            ) as has_segment_signal,
            organizations.plan is not null and organizations.plan = accounts.plan as has_plan_signal
        from organizations
        inner join
            account_names
            on organizations.name_key = account_names.name_key
            or (
                left(organizations.name_key, 2) = left(account_names.name_key, 2)
                and jaro_winkler_similarity(organizations.name_key, account_names.name_key)
                >= {{ var('fuzzy_name_min_similarity') }}
            )
        inner join accounts on accounts.account_id = account_names.account_id
        left join
            domain_hints
            on domain_hints.source_id = organizations.source_id
            and domain_hints.account_id = account_names.account_id
        left join
            sibling_hints
            on sibling_hints.source_id = organizations.source_id
            and sibling_hints.account_id = account_names.account_id
    ),

    by_name as (
        select
            'zendesk_organization' as source_system,
            source_id,
            account_id,
            case when is_same_key then 'company_name' else 'fuzzy_company_name' end as match_method,
            'company_name' as match_tier,
            case
                when not is_same_key
                then 0.7
                when has_domain_signal
                then 0.85
                when has_sibling_signal
                then 0.8
                else 0.75
            end as match_confidence,
            'name similarity '
            || cast(round(max(name_similarity), 3) as varchar)
            || case
                when bool_or(has_domain_signal)
                then ' + domain'
                when bool_or(has_sibling_signal)
                then ' + same-named organization of the account'
                when bool_or(has_segment_signal) and bool_or(has_plan_signal)
                then ' + segment + plan'
                when bool_or(has_segment_signal)
                then ' + segment'
                else ' + plan'
            end as match_evidence
        from name_candidates
        where
            (
                is_same_key
                and name_similarity >= {{ var('name_match_min_similarity') }}
                and (
                    has_domain_signal or has_sibling_signal or has_segment_signal or has_plan_signal
                )
            )
            or (not is_same_key and has_domain_signal)
        group by source_id, account_id, is_same_key, has_domain_signal, has_sibling_signal
    ),

    candidates as (
        select *
        from overrides
        union all by name
        select *
        from by_external_id
        union all by name
        select *
        from by_organization_domain
        union all by name
        select *
        from by_member_contact_email
        union all by name
        select *
        from by_member_email_domain
        union all by name
        select *
        from by_name
    ),

    {{ resolve_identity_links('universe', 'candidates') }}

select {{ identity_link_columns() }}
from resolved_links
