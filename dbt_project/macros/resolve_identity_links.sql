{#-
    The order of trust (entity-resolution.md), as a sortable rank.
-#}
{% macro match_tier_rank(tier) -%}
    case
        {{ tier }}
        when 'override'
        then 0
        when 'shared_id'
        then 1
        when 'email'
        then 2
        when 'email_domain'
        then 3
        when 'company_name'
        then 4
        else 9
    end
{%- endmacro %}

{#-
    Picks one link per source record from candidate links, in the order of trust.

    `universe`: a CTE/relation with (source_system, source_id), every record to resolve.
    `candidates`: a CTE/relation with (source_system, source_id, account_id, match_method,
    match_tier, match_confidence, match_evidence); one row per (record, method, account).

    A method that proposes several accounts for one record is ambiguous and is skipped
    (never an arbitrary pick); the decisive method of the highest tier (then the highest
    confidence) wins. Decisive methods that point elsewhere are reported as conflicts.
    Emits CTEs; the caller selects from `resolved_links`.
-#}
{% macro resolve_identity_links(universe, candidates) -%}
    method_outcomes as (
        select
            source_system,
            source_id,
            match_method,
            match_tier,
            max(match_confidence) as match_confidence,
            count(distinct account_id) as account_count,
            min(account_id) as account_id,
            list_sort(list_distinct(list(account_id))) as account_ids,
            min(match_evidence) as match_evidence
        from {{ candidates }}
        where account_id is not null
        group by source_system, source_id, match_method, match_tier
    ),

    chosen as (
        select
            source_system,
            source_id,
            account_id,
            match_method,
            match_tier,
            match_confidence,
            match_evidence
        from method_outcomes
        where account_count = 1
        qualify
            row_number() over (
                partition by source_system, source_id
                order by {{ match_tier_rank('match_tier') }}, match_confidence desc, match_method
            )
            = 1
    ),

    outcome_summary as (
        select
            source_system,
            source_id,
            list_sort(list_distinct(flatten(list(account_ids)))) as candidate_account_ids,
            list_sort(list(match_method) filter (where account_count > 1)) as ambiguous_methods,
            list_sort(list(match_method) filter (where account_count = 1)) as decisive_methods,
            list_sort(
                list_distinct(list(account_id) filter (where account_count = 1))
            ) as decisive_account_ids
        from method_outcomes
        group by source_system, source_id
    ),

    resolved_links as (
        select
            universe.source_system,
            universe.source_id,
            chosen.account_id,
            chosen.match_method,
            chosen.match_tier,
            chosen.match_confidence,
            chosen.match_evidence,
            case
                when chosen.account_id is not null
                then 'matched'
                when len(coalesce(outcome_summary.ambiguous_methods, [])) > 0
                then 'ambiguous'
                else 'unmatched'
            end as resolution_status,
            coalesce(outcome_summary.candidate_account_ids, []) as candidate_account_ids,
            coalesce(outcome_summary.decisive_methods, []) as decisive_methods,
            coalesce(outcome_summary.ambiguous_methods, []) as ambiguous_methods,
            list_filter(
                coalesce(outcome_summary.decisive_account_ids, []),
                lambda candidate:candidate <> chosen.account_id
            ) as conflicting_account_ids,
            len(
                list_filter(
                    coalesce(outcome_summary.decisive_account_ids, []),
                    lambda candidate:candidate <> chosen.account_id
                )
            )
            > 0 as has_conflict
        from {{ universe }} as universe
        left join
            chosen
            on chosen.source_system = universe.source_system
            and chosen.source_id = universe.source_id
        left join
            outcome_summary
            on outcome_summary.source_system = universe.source_system
            and outcome_summary.source_id = universe.source_id
    )
{%- endmacro %}

{#- The standard output columns of a link model. -#}
{% macro identity_link_columns() -%}
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
{%- endmacro %}

{#- Manual decisions from the identity_overrides seed for one source system. -#}
{% macro identity_override_candidates(source_system) -%}
    select
        overrides.source_system,
        overrides.source_id,
        survivors.surviving_account_id as account_id,
        'override' as match_method,
        'override' as match_tier,
        1.0 as match_confidence,
        'decided by '
        || coalesce(overrides.decided_by, '?')
        || ' at '
        || coalesce(cast(overrides.decided_at as varchar), '?')
        || ': '
        || coalesce(overrides.reason, '') as match_evidence
    from {{ ref('identity_overrides') }} as overrides
    left join
        {{ ref('int_salesforce__account_survivors') }} as survivors
        on survivors.account_id = overrides.account_id
    where overrides.source_system = '{{ source_system }}'
{%- endmacro %}
