{#-
    NPS by reporting quarter (cx-metrics.md), overall and by segment, region, plan,
    respondent role, role group (decision makers vs users) and touchpoint: one row per
    (quarter, breakdown, breakdown_value). Both NPS surveys count (the quarterly relationship
    survey and Delighted's in-app NPS, the same 0–10 recommend question); other scales never
    do.

    - nps = 100 × (promoters − detractors) ÷ responses, response-weighted.
    - account_weighted_nps: the +1/0/−1 codes averaged within each account first, then
      across accounts (responses without an account are left out of it).
    - nps_margin_of_error: 1.96 × √((p + d − (p − d)²) ÷ n) × 100, from the variance of the
      +1/0/−1 coding; nps_ci_lower/upper = nps ∓ margin, clipped to −100…100.
    - Adjusted-Wald (for small n): 3 added to n and 0.75 to promoters and to detractors.
    - is_publishable: n ≥ var nps_min_responses (default 30).
    - Quarter-over-quarter change against the previous calendar quarter of the same cell.
    Customer attributes are the account's current ones (dim_customers); unmatched
    respondents report as 'unknown'.
-#}
with

    responses as (
        select
            response_quarter,
            account_id,
            nps_code,
            respondent_role,
            respondent_role_group,
            touchpoint
        from {{ ref('fct_survey_responses') }}
        where survey_type = 'NPS' and nps_code is not null
    ),

    customers as (select account_id, segment, region, plan from {{ ref('dim_customers') }}),

    enriched as (
        select
            responses.response_quarter,
            responses.account_id,
            responses.nps_code,
            coalesce(customers.segment, 'unknown') as segment,
            coalesce(customers.region, 'unknown') as region,
            coalesce(customers.plan, 'unknown') as plan,
            responses.respondent_role,
            responses.respondent_role_group,
            responses.touchpoint
        from responses
        left join customers on customers.account_id = responses.account_id
    ),

    cells as (
        {% set breakdowns = [
            ("all", "'all'"),
            ("segment", "segment"),
            ("region", "region"),
            ("plan", "plan"),
            ("respondent_role", "respondent_role"),
            ("respondent_role_group", "respondent_role_group"),
            ("touchpoint", "touchpoint"),
        ] %}
        {% for breakdown, expression in breakdowns %}
            select
                response_quarter as quarter_start,
                '{{ breakdown }}' as breakdown,
                {{ expression }} as breakdown_value,
                account_id,
                nps_code
            from enriched
            {% if not loop.last %}
                union all
            {% endif %}
        {% endfor %}
    ),

    counts as (
        select
            quarter_start,
            breakdown,
            breakdown_value,
            count(*) as responses,
            count(*) filter (where nps_code = 1) as promoters,
            count(*) filter (where nps_code = 0) as passives,
            count(*) filter (where nps_code = -1) as detractors
        from cells
        group by quarter_start, breakdown, breakdown_value
    ),

    account_codes as (
        select quarter_start, breakdown, breakdown_value, account_id, avg(nps_code) as mean_code
        from cells
        where account_id is not null
        group by quarter_start, breakdown, breakdown_value, account_id
    ),

    account_weighted as (
        select
            quarter_start,
            breakdown,
            breakdown_value,
            count(*) as accounts,
            round(100 * avg(mean_code), 2) as account_weighted_nps
        from account_codes
        group by quarter_start, breakdown, breakdown_value
    ),

    statistics as (
        select
            counts.quarter_start,
            counts.breakdown,
            counts.breakdown_value,
            counts.responses,
            counts.promoters,
            counts.passives,
            counts.detractors,
            round(100.0 * counts.promoters / counts.responses, 2) as promoter_pct,
            round(100.0 * counts.passives / counts.responses, 2) as passive_pct,
            round(100.0 * counts.detractors / counts.responses, 2) as detractor_pct,
            {{ nps_statistics('counts.promoters', 'counts.detractors', 'counts.responses') }},
            coalesce(account_weighted.accounts, 0) as accounts,
            account_weighted.account_weighted_nps
        from counts
        left join
            account_weighted
            on account_weighted.quarter_start = counts.quarter_start
            and account_weighted.breakdown = counts.breakdown
            and account_weighted.breakdown_value = counts.breakdown_value
    ),

    final as (
        select
            statistics.*,
            round(
                greatest(-100, statistics.nps - statistics.nps_margin_of_error), 2
            ) as nps_ci_lower,
            round(least(100, statistics.nps + statistics.nps_margin_of_error), 2) as nps_ci_upper,
            round(
                greatest(
                    -100,
                    statistics.nps_adjusted_wald - statistics.nps_adjusted_wald_margin_of_error
                ),
                2
            ) as nps_adjusted_wald_ci_lower,
            round(
                least(
                    100, statistics.nps_adjusted_wald + statistics.nps_adjusted_wald_margin_of_error
                ),
                2
            ) as nps_adjusted_wald_ci_upper,
            statistics.responses >= {{ cx_var('nps_min_responses') }} as is_publishable,
            previous.responses as previous_quarter_responses,
            previous.nps as previous_quarter_nps,
            round(statistics.nps - previous.nps, 2) as nps_change_qoq,
            round(
                statistics.account_weighted_nps - previous.account_weighted_nps, 2
            ) as account_weighted_nps_change_qoq
        from statistics
        left join
            statistics as previous
            on previous.breakdown = statistics.breakdown
            and previous.breakdown_value = statistics.breakdown_value
            and previous.quarter_start = cast(statistics.quarter_start - interval 3 month as date)
    )

select
    {{ dbt.hash("cast(quarter_start as varchar) || '|' || breakdown || '|' || breakdown_value") }}
    as nps_cell_id,
    quarter_start,
    breakdown,
    breakdown_value,
    responses,
    promoters,
    passives,
    detractors,
    promoter_pct,
    passive_pct,
    detractor_pct,
    nps,
    nps_margin_of_error,
    nps_ci_lower,
    nps_ci_upper,
    nps_adjusted_wald,
    nps_adjusted_wald_margin_of_error,
    nps_adjusted_wald_ci_lower,
    nps_adjusted_wald_ci_upper,
    accounts,
    account_weighted_nps,
    is_publishable,
    previous_quarter_responses,
    previous_quarter_nps,
    nps_change_qoq,
    account_weighted_nps_change_qoq
from final
