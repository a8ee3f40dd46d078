{#-
    MetricFlow's day time spine (required by recent MetricFlow): one row per day from
    2020-01-01 through 2035-12-31, the calendar every metric_time is joined to.
-#}
{{ config(materialized="table", schema="marts") }}

with

    days as (
        select
            cast(
                unnest(
                    generate_series(timestamp '2020-01-01', timestamp '2035-12-31', interval 1 day)
                ) as date
            ) as date_day
    )

select date_day
from days
