{#-
    Layer schemas are used verbatim (staging, intermediate, marts, seeds) instead of dbt's
    default "<target schema>_<custom schema>", so the warehouse reads the same in every
    environment; nodes without a custom schema land in the target schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%} {{ target.schema | trim }}
    {%- else -%} {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
