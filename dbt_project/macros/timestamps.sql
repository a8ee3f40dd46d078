{#- A TIMESTAMPTZ (or an ISO-8601 string with any UTC offset) as a naive UTC timestamp. -#}
{% macro to_utc(expression) -%}
    cast(cast({{ expression }} as timestamptz) at time zone 'UTC' as timestamp)
{%- endmacro %}
