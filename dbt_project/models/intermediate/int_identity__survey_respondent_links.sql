{#-
    Survey response → the respondent's surviving Salesforce account, for Qualtrics and
    Delighted. Shared ids first: the Salesforce contact id in Qualtrics'
    externalDataReference, the opportunity or Zendesk ticket the survey was sent for, the
    product workspace Delighted records (when that workspace is linked by the account's own
    Product_Workspace_Id__c); then an exact e-mail match to a Salesforce contact or to a
    resolved Zendesk user; then the corporate e-mail domain; then a workspace linked only
    by its users' vote.
-#}
with

    qualtrics as (
        select
            response_id as source_id,
            external_data_reference,
            opportunity_id,
            ticket_id,
            recipient_email as email,
            recipient_email_domain as email_domain
        from {{ ref('stg_qualtrics__survey_responses') }}
        where not is_deleted
    ),

    delighted as (
        select
            responses.response_id as source_id,
            responses.workspace_id,
            coalesce(responses.person_email, people.email) as email,
            coalesce(responses.person_email_domain, people.email_domain) as email_domain
        from {{ ref('stg_delighted__survey_responses') }} as responses
        left join
            {{ ref('stg_delighted__people') }} as people on people.person_id = responses.person_id
        where not responses.is_deleted
    ),

    respondents as (
        select 'qualtrics_response' as source_system, source_id, email, email_domain
        from qualtrics
        union all
        select 'delighted_response' as source_system, source_id, email, email_domain
        from delighted
    ),

    universe as (select source_system, source_id from respondents),

    survivors as (select * from {{ ref('int_salesforce__account_survivors') }}),

    contacts as (
        select contacts.contact_id, survivors.surviving_account_id as account_id
        from {{ ref('stg_salesforce__contacts') }} as contacts
        inner join survivors on survivors.account_id = contacts.account_id
        where survivors.surviving_account_id is not null
    ),

    opportunities as (
        select opportunities.opportunity_id, survivors.surviving_account_id as account_id
        from {{ ref('stg_salesforce__opportunities') }} as opportunities
        inner join survivors on survivors.account_id = opportunities.account_id
        where survivors.surviving_account_id is not null
    ),

    ticket_accounts as (
        select ticket_id, account_id, match_tier, match_confidence, resolved_via
        from {{ ref('int_zendesk__ticket_accounts') }}
        where account_id is not null
    ),

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

    overrides as (
        {{ identity_override_candidates('qualtrics_response') }}
        union all
        {{ identity_override_candidates('delighted_response') }}
    ),

    by_contact_id as (
        select
            'qualtrics_response' as source_system,
            qualtrics.source_id,
            contacts.account_id,
            'contact_id' as match_method,
            'shared_id' as match_tier,
            0.99 as match_confidence,
            'externalDataReference ' || qualtrics.external_data_reference as match_evidence
        from qualtrics
        inner join contacts on contacts.contact_id = qualtrics.external_data_reference
    ),

    by_opportunity as (
        select
            'qualtrics_response' as source_system,
            qualtrics.source_id,
            opportunities.account_id,
            'opportunity_id' as match_method,
            'shared_id' as match_tier,
            0.99 as match_confidence,
            'opportunity ' || qualtrics.opportunity_id as match_evidence
        from qualtrics
        inner join opportunities on opportunities.opportunity_id = qualtrics.opportunity_id
    ),

    by_ticket as (
        select
            'qualtrics_response' as source_system,
            qualtrics.source_id,
            ticket_accounts.account_id,
            'zendesk_ticket' as match_method,
            ticket_accounts.match_tier,
            ticket_accounts.match_confidence,
            'ticket '
            || cast(qualtrics.ticket_id as varchar)
            || ' via its '
            || ticket_accounts.resolved_via as match_evidence
        from qualtrics
        inner join ticket_accounts on ticket_accounts.ticket_id = qualtrics.ticket_id
    ),

    by_workspace as (
        select
            'delighted_response' as source_system,
            delighted.source_id,
            workspace_links.account_id,
            'product_workspace' as match_method,
            workspace_links.match_tier,
            workspace_links.match_confidence,
            'Workspace ID '
            || delighted.workspace_id
            || ' ('
            || workspace_links.match_method
            || ')' as match_evidence
        from delighted
        inner join workspace_links on workspace_links.source_id = delighted.workspace_id
    ),

    by_contact_email as (
        select
            respondents.source_system,
            respondents.source_id,
            contact_emails.account_id,
            'contact_email' as match_method,
            'email' as match_tier,
            0.97 as match_confidence,
            'e-mail of contact ' || contact_emails.contact_ids[1] as match_evidence
        from respondents
        inner join contact_emails on contact_emails.email = respondents.email
        where not contact_emails.is_ambiguous
    ),

    by_support_user_email as (
        select
            respondents.source_system,
            respondents.source_id,
            support_user_links.account_id,
            'support_user_email' as match_method,
            'email' as match_tier,
            least(0.95, support_user_links.match_confidence) as match_confidence,
            'e-mail of a resolved Zendesk user' as match_evidence
        from respondents
        inner join support_user_links on support_user_links.email = respondents.email
    ),

    by_email_domain as (
        select
            respondents.source_system,
            respondents.source_id,
            account_domains.account_id,
            'email_domain' as match_method,
            'email_domain' as match_tier,
            0.9 as match_confidence,
            'e-mail domain ' || domains.registered_domain as match_evidence
        from respondents
        inner join domains on domains.host = respondents.email_domain
        inner join account_domains on account_domains.registered_domain = domains.registered_domain
    ),

    candidates as (
        select *
        from overrides
        union all by name
        select *
        from by_contact_id
        union all by name
        select *
        from by_opportunity
        union all by name
        select *
        from by_ticket
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
