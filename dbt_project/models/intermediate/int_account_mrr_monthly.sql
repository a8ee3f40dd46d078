{#-
    MRR per account and calendar month, from the first month of the account's first
    contract through the reporting month. A month's MRR is the MRR in force on its last
    day (month-end MRR); for the reporting month, on the reporting date.
-#}
with

    reporting as (select as_of_date, as_of_month from {{ ref('int_reporting_date') }}),

    contracts as (select * from {{ ref('int_salesforce__contracts') }}),

    first_months as (
        select
            account_id, cast(date_trunc('month', min(contract_start_date)) as date) as first_month
        from contracts
        group by account_id
    ),

    months as (
        select
            first_months.account_id,
            cast(
                unnest(
                    generate_series(
                        cast(first_months.first_month as timestamp),
                        cast(reporting.as_of_month as timestamp),
                        interval 1 month
                    )
                ) as date
            ) as revenue_month,
            reporting.as_of_date
        from first_months
        cross join reporting
    ),

    snapshots as (
        select
            account_id, revenue_month, least(last_day(revenue_month), as_of_date) as snapshot_date
        from months
    )

select
    {{ dbt.hash("snapshots.account_id || '|' || cast(snapshots.revenue_month as varchar)") }}
    as account_month_id,
    snapshots.account_id,
    snapshots.revenue_month,
    snapshots.snapshot_date,
    round(coalesce(sum(contracts.mrr), 0), 2) as mrr,
    count(contracts.opportunity_id) as active_contract_count
from snapshots
left join
    contracts
    on contracts.account_id = snapshots.account_id
    and contracts.contract_start_date <= snapshots.snapshot_date
    and snapshots.snapshot_date < contracts.contract_end_date
group by snapshots.account_id, snapshots.revenue_month, snapshots.snapshot_date
