{#-
    The CX metric marts' business decisions (/work/shared/reference/cx-metrics.md), one
    documented default each. Override any of them like a project var:
    `dbt build --vars '{"close_the_loop_sla_hours": 24}'`. Defaults live here (not in
    dbt_project.yml) so that the CX marts can be added without touching the project file;
    models/marts/cx/_cx__docs.md documents every one.
-#}
{% macro cx_var(name) -%}
    {%- set defaults = {
        "reporting_time_zone": "UTC",
        "business_hours_schedule": "default",
        "nps_min_responses": 30,
        "satisfaction_min_responses": 30,
        "close_the_loop_sla_hours": 48,
        "survey_pacing_days": 28,
        "survey_sample_quarter": none,
        "survey_sample_size": 1000,
        "survey_sample_seed": "cx360",
        "survey_min_account_age_days": 90,
        "survey_min_active_users": 1,
        "signup_survey_delay_days": 28,
        "health_history_days": 180,
        "health_weights": {
            "usage": 0.35,
            "support": 0.2,
            "sentiment": 0.25,
            "commercial": 0.2,
        },
        "health_at_risk_below": 40,
        "health_growth_from": 70,
        "health_tickets_per_user_ceiling": 1.0,
        "health_resolution_target_hours": 24,
        "health_renewal_horizon_days": 180,
        "outcome_lookback_days": 365,
        "outcome_lead_days": 60,
        "escalation_tag": "escalated",
    } -%}
    {%- if name not in defaults -%}
        {{ exceptions.raise_compiler_error("cx_var: unknown CX var '" ~ name ~ "'") }}
    {%- endif -%}
    {{- return(var(name, defaults[name])) -}}
{%- endmacro %}

{#-
    A naive UTC timestamp as wall-clock time in the reporting time zone (var
    reporting_time_zone, default UTC: then the expression is returned unchanged). Every
    monthly/quarterly bucket of the CX marts goes through this macro.
-#}
{% macro to_reporting_time(expression) -%}
    {%- set time_zone = cx_var("reporting_time_zone") -%}
    {%- if time_zone | upper == "UTC" -%} {{ expression }}
    {%- else -%} timezone('{{ time_zone }}', cast({{ expression }} as timestamptz))
    {%- endif -%}
{%- endmacro %}

{#- The reporting-time-zone calendar month (first day, DATE) of a naive UTC timestamp. -#}
{% macro reporting_month(expression) -%}
    cast(date_trunc('month', {{ to_reporting_time(expression) }}) as date)
{%- endmacro %}

{#- The reporting-time-zone calendar quarter (first day, DATE) of a naive UTC timestamp. -#}
{% macro reporting_quarter(expression) -%}
    cast(date_trunc('quarter', {{ to_reporting_time(expression) }}) as date)
{%- endmacro %}
