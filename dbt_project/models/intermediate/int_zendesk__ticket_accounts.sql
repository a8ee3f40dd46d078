{#-
    Each Zendesk ticket's customer: the ticket's organization when that is linked,
    otherwise its requester's link. Tickets of people with no resolvable company (free
    individuals on personal e-mail) keep a NULL account: they are reported, not dropped.
-#}
with

    tickets as (
        select ticket_id, organization_id, requester_id from {{ ref('stg_zendesk__tickets') }}
    ),

    organization_links as (
        select source_id, account_id, match_tier, match_confidence
        from {{ ref('int_identity__zendesk_organization_links') }}
        where resolution_status = 'matched'
    ),

    user_links as (
        select source_id, account_id, match_tier, match_confidence
        from {{ ref('int_identity__zendesk_user_links') }}
        where resolution_status = 'matched'
    )

select
    tickets.ticket_id,
    coalesce(organization_links.account_id, user_links.account_id) as account_id,
    case
        when organization_links.account_id is not null
        then 'organization'
        when user_links.account_id is not null
        then 'requester'
    end as resolved_via,
    coalesce(organization_links.match_tier, user_links.match_tier) as match_tier,
    coalesce(organization_links.match_confidence, user_links.match_confidence) as match_confidence
from tickets
left join
    organization_links on organization_links.source_id = cast(tickets.organization_id as varchar)
left join user_links on user_links.source_id = cast(tickets.requester_id as varchar)
