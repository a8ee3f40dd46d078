{#-
    Product workspace → surviving Salesforce account: override; the account's
    Product_Workspace_Id__c (a shared id); otherwise a vote of the workspace's product users
    and of the Delighted respondents who answered from it, each resolved by e-mail (exact contact match, the resolved Zendesk user with that
    address, or the corporate domain). The vote is decisive only when the winning account
    holds at least var('workspace_vote_min_share') of at least
    var('workspace_vote_min_users') voting users.
-#}
with

    workspaces as (
        select distinct workspace_id
        from
            (
                select workspace_id
                from {{ ref('stg_amplitude__events') }}
                union all
                select workspace_id
                from {{ ref('stg_delighted__survey_responses') }}
                union all
                select workspace_id
                from {{ ref('stg_salesforce__accounts') }}
            )
        where workspace_id is not null
    ),

    universe as (
        select 'product_workspace' as source_system, workspace_id as source_id from workspaces
    ),

    survivors as (select * from {{ ref('int_salesforce__account_survivors') }}),

    overrides as ({{ identity_override_candidates('product_workspace') }}),

    by_salesforce_field as (
        select
            'product_workspace' as source_system,
            accounts.workspace_id as source_id,
            survivors.surviving_account_id as account_id,
            'salesforce_workspace_id' as match_method,
            'shared_id' as match_tier,
            0.99 as match_confidence,
            'Product_Workspace_Id__c on ' || accounts.account_id as match_evidence
        from {{ ref('stg_salesforce__accounts') }} as accounts
        inner join survivors on survivors.account_id = accounts.account_id
        where accounts.workspace_id is not null and survivors.surviving_account_id is not null
    ),

    {#- Voters: product users, and Delighted respondents who answered from the workspace. -#}
    workspace_users as (
        select distinct
            'amplitude:' || users.user_id as user_id,
            users.user_email,
            users.user_email_domain,
            w.workspace_id
        from
            {{ ref('int_amplitude__users') }} as users,
            unnest(users.workspace_ids) as w(workspace_id)
        where w.workspace_id is not null
        union
        select distinct
            'delighted:' || responses.person_id as user_id,
            coalesce(responses.person_email, people.email) as user_email,
            coalesce(responses.person_email_domain, people.email_domain) as user_email_domain,
            responses.workspace_id
        from {{ ref('stg_delighted__survey_responses') }} as responses
        left join
            {{ ref('stg_delighted__people') }} as people on people.person_id = responses.person_id
        where responses.workspace_id is not null and not responses.is_deleted
    ),

    contact_emails as (
        select email, account_id
        from {{ ref('int_identity__contact_emails') }}
        where not is_ambiguous
    ),

    support_user_emails as (
        select zendesk_users.email, links.account_id
        from {{ ref('int_identity__zendesk_user_links') }} as links
        inner join
            {{ ref('stg_zendesk__users') }} as zendesk_users
            on cast(zendesk_users.user_id as varchar) = links.source_id
        where links.resolution_status = 'matched' and zendesk_users.email is not null
        qualify count(distinct links.account_id) over (partition by zendesk_users.email) = 1
    ),

    domain_accounts as (
        select domains.host, account_domains.account_id
        from {{ ref('int_identity__domains') }} as domains
        inner join
            {{ ref('int_identity__account_domains') }} as account_domains
            on account_domains.registered_domain = domains.registered_domain
        where domains.is_corporate and not account_domains.is_ambiguous
    ),

    user_votes as (
        select
            workspace_users.workspace_id,
            workspace_users.user_id,
            coalesce(
                contact_emails.account_id,
                support_user_emails.account_id,
                domain_accounts.account_id
            ) as account_id
        from workspace_users
        left join contact_emails on contact_emails.email = workspace_users.user_email
        left join support_user_emails on support_user_emails.email = workspace_users.user_email
        left join domain_accounts on domain_accounts.host = workspace_users.user_email_domain
    ),

    tallies as (
        select
            workspace_id,
            account_id,
            count(distinct user_id) as votes,
            sum(count(distinct user_id)) over (partition by workspace_id) as voters
        from user_votes
        where account_id is not null
        group by workspace_id, account_id
    ),

    by_user_vote as (
        select
            'product_workspace' as source_system,
            workspace_id as source_id,
            account_id,
            'workspace_user_vote' as match_method,
            'email_domain' as match_tier,
            round(0.85 * votes / voters, 3) as match_confidence,
            cast(votes as varchar)
            || ' of '
            || cast(voters as varchar)
            || ' resolved users' as match_evidence
        from tallies
        where
            voters >= {{ var('workspace_vote_min_users') }}
            and (
                votes >= {{ var('workspace_vote_min_share') }} * voters
                -- no decisive winner: every voted account stays, which makes it
                -- ambiguous
                or not exists (
                    select 1
                    from tallies as other
                    where
                        other.workspace_id = tallies.workspace_id
                        and other.votes >= {{ var('workspace_vote_min_share') }} * other.voters
                )
            )
    ),

    candidates as (
        select *
        from overrides
        union all by name
        select *
        from by_salesforce_field
        union all by name
        select *
        from by_user_vote
    ),

    {{ resolve_identity_links('universe', 'candidates') }}

select {{ identity_link_columns() }}
from resolved_links
