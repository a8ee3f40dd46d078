{#- A TIMESTAMPTZ (or an ISO-8601 string with any UTC offset) as a naive UTC timestamp. -#}
{% macro to_utc(expression) -%}
    cast(cast({{ expression }} as timestamptz) at time zone 'UTC' as timestamp)
{%- endmacro %}

{#- Unix epoch seconds (integer) as a naive UTC timestamp. -#}
{% macro epoch_to_utc(expression) -%}
    cast(to_timestamp({{ expression }}) at time zone 'UTC' as timestamp)
{%- endmacro %}
