{#-
    Every source record identity resolution tried to place — Zendesk organizations and
    end-users, product workspaces and users, survey responses — with the account it landed
    on (or why not: unmatched, ambiguous), the method and confidence, and conflicts
    between methods. Nothing is silently dropped: review 'ambiguous', 'unmatched' and
    has_conflict rows, and record decisions in the identity_overrides seed.
-#}
with

    links as (
        select
            source_system,
            source_id,
            account_id,
            match_method,
            match_tier,
            match_confidence,
            match_evidence,
            resolution_status,
            candidate_account_ids,
            decisive_methods,
            ambiguous_methods,
            conflicting_account_ids,
            has_conflict
        from {{ ref('int_identity__links') }}
    ),

    final as (
        select
            {{ dbt.hash("source_system || '|' || source_id") }} as identity_record_id,
            source_system,
            source_id,
            account_id,
            resolution_status,
            match_method,
            match_tier,
            match_confidence,
            match_evidence,
            has_conflict,
            len(candidate_account_ids) as candidate_account_count,
            array_to_string(candidate_account_ids, ', ') as candidate_account_ids,
            array_to_string(decisive_methods, ', ') as decisive_methods,
            array_to_string(ambiguous_methods, ', ') as ambiguous_methods,
            array_to_string(conflicting_account_ids, ', ') as conflicting_account_ids,
            case
                when resolution_status = 'ambiguous'
                then 'review: several accounts, no decisive method'
                when resolution_status = 'unmatched'
                then 'review: no candidate account'
                when has_conflict
                then 'review: methods disagree'
                when match_tier = 'company_name'
                then 'spot-check: matched on name only'
                else 'ok'
            end as review_action
        from links
    )

select
    identity_record_id,
    source_system,
    source_id,
    account_id,
    resolution_status,
    match_method,
    match_tier,
    match_confidence,
    match_evidence,
    has_conflict,
    candidate_account_count,
    candidate_account_ids,
    decisive_methods,
    ambiguous_methods,
    conflicting_account_ids,
    review_action
from final
