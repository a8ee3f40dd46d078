{#-
    Business seconds from the schedule's origin to `instant` (a naive UTC timestamp):
    the open seconds of every window before it plus the part of its own window already
    elapsed. Emit inside a SELECT whose FROM has `asof left join <windows> as <alias> on
    <alias>.schedule_name = … and instant >= <alias>.window_start_at` (the window that
    started last before the instant). Business time between two instants is the difference
    of this running total at each: exact, and never the difference of two business-hour
    metrics (cx-metrics.md, "traps").
-#}
{% macro business_seconds_at(instant, alias) -%}
    case
        when {{ instant }} is null
        then null
        when {{ alias }}.window_start_at is null
        then 0
        else
            {{ alias }}.cumulative_seconds_before + least(
                {{ alias }}.window_seconds,
                greatest(0, epoch({{ instant }}) - epoch({{ alias }}.window_start_at))
            )
    end
{%- endmacro %}
