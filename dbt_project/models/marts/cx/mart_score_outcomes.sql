{#-
    Survey and health signals against commercial outcomes, so the CX team can show the
    money: one row per (signal, signal_value).

    A renewal event is a day a customer's contract terms ended (a contract end date on or
    before the reporting date with MRR in force the day before): renewed when MRR is in
    force on the end date itself (the next term starts the day the previous one ends),
    churned otherwise. For each event:
    - nps_category: the category of the account's latest NPS response in the var
      outcome_lookback_days (365) before the renewal;
    - decision_maker_nps_category: the same, decision makers' responses only;
    - health_band: the band var outcome_lead_days (60) days before the renewal, when that
      day is inside mart_account_health_daily's history;
    - nps_response_category (unit = responses): every NPS response, with the outcome of
      its account's first renewal event in the lookback window after it.
    renewal_rate = renewed ÷ events; churn_rate = churned ÷ events; renewal NRR = Σ MRR on
    the renewal day (expansion and contraction included) ÷ Σ MRR the day before. Events
    without the signal report under signal_value 'no_response' / 'no_history'.
-#}
with

    reporting as (select as_of_date from {{ ref('int_reporting_date') }}),

    contracts as (
        select account_id, contract_start_date, contract_end_date, mrr
        from {{ ref('int_salesforce__contracts') }}
    ),

    responses as (
        select account_id, score_category, respondent_role, responded_at
        from {{ ref('fct_survey_responses') }}
        where survey_type = 'NPS' and nps_code is not null and account_id is not null
    ),

    health as (
        select account_id, health_date, health_band from {{ ref('mart_account_health_daily') }}
    ),

    health_history as (select min(health_date) as first_health_date from health),

    renewal_dates as (
        select distinct contracts.account_id, contracts.contract_end_date as renewal_date
        from contracts
        cross join reporting
        where contracts.contract_end_date <= reporting.as_of_date
    ),

    renewal_mrr as (
        select
            renewal_dates.account_id,
            renewal_dates.renewal_date,
            coalesce(
                sum(contracts.mrr) filter (
                    where
                        contracts.contract_start_date <= renewal_dates.renewal_date - 1
                        and renewal_dates.renewal_date - 1 < contracts.contract_end_date
                ),
                0
            ) as mrr_before,
            coalesce(
                sum(contracts.mrr) filter (
                    where
                        contracts.contract_start_date <= renewal_dates.renewal_date
                        and renewal_dates.renewal_date < contracts.contract_end_date
                ),
                0
            ) as mrr_after
        from renewal_dates
        inner join contracts on contracts.account_id = renewal_dates.account_id
        group by renewal_dates.account_id, renewal_dates.renewal_date
    ),

    renewal_events as (
        select account_id, renewal_date, mrr_before, mrr_after, mrr_after > 0 as is_renewed
        from renewal_mrr
        where mrr_before > 0
    ),

    latest_nps as (
        select
            renewal_events.account_id,
            renewal_events.renewal_date,
            arg_max(responses.score_category, responses.responded_at) as nps_category,
            arg_max(responses.score_category, responses.responded_at) filter (
                where responses.respondent_role = 'decision_maker'
            ) as decision_maker_nps_category
        from renewal_events
        inner join
            responses
            on responses.account_id = renewal_events.account_id
            and responses.responded_at < cast(renewal_events.renewal_date as timestamp)
            and responses.responded_at >= cast(
                renewal_events.renewal_date - {{ cx_var('outcome_lookback_days') }} as timestamp
            )
        group by renewal_events.account_id, renewal_events.renewal_date
    ),

    bands as (
        select renewal_events.account_id, renewal_events.renewal_date, health.health_band
        from renewal_events
        inner join
            health
            on health.account_id = renewal_events.account_id
            and health.health_date = renewal_events.renewal_date - {{ cx_var('outcome_lead_days') }}
    ),

    events_with_signals as (
        select
            renewal_events.*,
            coalesce(latest_nps.nps_category, 'no_response') as nps_category,
            coalesce(
                latest_nps.decision_maker_nps_category, 'no_response'
            ) as decision_maker_nps_category,
            case
                when bands.health_band is not null
                then bands.health_band
                when
                    renewal_events.renewal_date - {{ cx_var('outcome_lead_days') }}
                    < health_history.first_health_date
                    or health_history.first_health_date is null
                then 'no_history'
                else 'not_scored'
            end as health_band
        from renewal_events
        cross join health_history
        left join
            latest_nps
            on latest_nps.account_id = renewal_events.account_id
            and latest_nps.renewal_date = renewal_events.renewal_date
        left join
            bands
            on bands.account_id = renewal_events.account_id
            and bands.renewal_date = renewal_events.renewal_date
    ),

    response_outcomes as (
        select
            responses.score_category,
            responses.responded_at,
            renewal_events.is_renewed,
            renewal_events.mrr_before,
            renewal_events.mrr_after
        from responses
        inner join
            renewal_events
            on renewal_events.account_id = responses.account_id
            and cast(renewal_events.renewal_date as timestamp) > responses.responded_at
            and renewal_events.renewal_date
            <= cast(responses.responded_at as date) + {{ cx_var('outcome_lookback_days') }}
        qualify
            row_number() over (
                partition by responses.account_id, responses.responded_at, responses.score_category
                order by renewal_events.renewal_date
            )
            = 1
    ),

    cells as (
        select
            'all' as signal,
            'all' as signal_value,
            'renewals' as unit,
            is_renewed,
            mrr_before,
            mrr_after
        from events_with_signals
        union all
        select 'nps_category', nps_category, 'renewals', is_renewed, mrr_before, mrr_after
        from events_with_signals
        union all
        select
            'decision_maker_nps_category',
            decision_maker_nps_category,
            'renewals',
            is_renewed,
            mrr_before,
            mrr_after
        from events_with_signals
        union all
        select 'health_band', health_band, 'renewals', is_renewed, mrr_before, mrr_after
        from events_with_signals
        union all
        select
            'nps_response_category', score_category, 'responses', is_renewed, mrr_before, mrr_after
        from response_outcomes
    ),

    final as (
        select
            signal,
            signal_value,
            unit,
            count(*) as renewal_events,
            count(*) filter (where is_renewed) as renewed,
            count(*) filter (where not is_renewed) as churned,
            round(100.0 * count(*) filter (where is_renewed) / count(*), 2) as renewal_rate_pct,
            round(100.0 * count(*) filter (where not is_renewed) / count(*), 2) as churn_rate_pct,
            round(sum(mrr_before), 2) as mrr_before_renewal,
            round(sum(mrr_after), 2) as mrr_after_renewal,
            round(100.0 * sum(mrr_after) / nullif(sum(mrr_before), 0), 2) as renewal_nrr_pct
        from cells
        group by signal, signal_value, unit
    )

select
    signal || '|' || signal_value as outcome_cell_id,
    signal,
    signal_value,
    unit,
    renewal_events,
    renewed,
    churned,
    renewal_rate_pct,
    churn_rate_pct,
    mrr_before_renewal,
    mrr_after_renewal,
    renewal_nrr_pct
from final
