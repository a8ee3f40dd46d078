with

    monthly as (
        select
            account_month_id, account_id, revenue_month, snapshot_date, mrr, active_contract_count
        from {{ ref('int_account_mrr_monthly') }}
    ),

    with_history as (
        select
            account_month_id,
            account_id,
            revenue_month,
            snapshot_date,
            mrr,
            active_contract_count,
            coalesce(
                lag(mrr) over (partition by account_id order by revenue_month), 0
            ) as previous_mrr,
            coalesce(
                max(mrr) over (
                    partition by account_id
                    order by revenue_month
                    rows between unbounded preceding and 1 preceding
                ),
                0
            )
            > 0 as had_mrr_before
        from monthly
    ),

    classified as (
        select
            account_month_id,
            account_id,
            revenue_month,
            snapshot_date,
            mrr,
            active_contract_count,
            previous_mrr,
            case
                when mrr > 0 and previous_mrr = 0 and not had_mrr_before
                then 'new'
                when mrr > 0 and previous_mrr = 0
                then 'reactivation'
                when mrr = 0 and previous_mrr > 0
                then 'churn'
                when mrr > previous_mrr
                then 'expansion'
                when mrr < previous_mrr
                then 'contraction'
                when mrr > 0
                then 'flat'
                else 'inactive'
            end as mrr_movement
        from with_history
    ),

    final as (
        select
            account_month_id,
            account_id,
            revenue_month,
            snapshot_date,
            mrr,
            round(12 * mrr, 2) as arr,
            previous_mrr,
            round(mrr - previous_mrr, 2) as mrr_change,
            mrr_movement,
            case when mrr_movement = 'new' then mrr else 0 end as new_mrr,
            case
                when mrr_movement = 'expansion' then round(mrr - previous_mrr, 2) else 0
            end as expansion_mrr,
            case
                when mrr_movement = 'contraction' then round(previous_mrr - mrr, 2) else 0
            end as contraction_mrr,
            case when mrr_movement = 'churn' then previous_mrr else 0 end as churned_mrr,
            case when mrr_movement = 'reactivation' then mrr else 0 end as reactivation_mrr,
            active_contract_count,
            mrr > 0 as is_paying
        from classified
    )

select
    account_month_id,
    account_id,
    revenue_month,
    snapshot_date,
    mrr,
    arr,
    previous_mrr,
    mrr_change,
    mrr_movement,
    new_mrr,
    expansion_mrr,
    contraction_mrr,
    churned_mrr,
    reactivation_mrr,
    active_contract_count,
    is_paying
from final
