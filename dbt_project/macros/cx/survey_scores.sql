{#-
    Score classification (cx-metrics.md), one definition used by fct_survey_responses.

    NPS (0–10): promoter 9–10, passive 7–8, detractor 0–6; coded +1 / 0 / −1.
    Top-two-box (CSAT, TXS, PSAT): the two highest points of the scale (4–5 on 1–5); on a
    two-point scale (Zendesk good/bad as 1/0) the top box only.
    CES (1–7): easy 5–7, neutral 4, difficult 1–3.
    Bottom-two-box ("dissatisfied"): the two lowest points of the scale (1–2 on 1–5); on a
    two-point scale the bottom box.
-#}
{% macro nps_category(score) -%}
    case
        when {{ score }} is null
        then null
        when {{ score }} >= 9
        then 'promoter'
        when {{ score }} >= 7
        then 'passive'
        else 'detractor'
    end
{%- endmacro %}

{% macro nps_code(score) -%}
    case
        when {{ score }} is null
        then null
        when {{ score }} >= 9
        then 1
        when {{ score }} >= 7
        then 0
        else -1
    end
{%- endmacro %}

{% macro is_top_two_box(score, scale_min, scale_max) -%}
    case
        when {{ score }} is null
        then null
        when {{ scale_max }} - {{ scale_min }} <= 1
        then {{ score }} >= {{ scale_max }}
        else {{ score }} >= {{ scale_max }} - 1
    end
{%- endmacro %}

{% macro is_bottom_two_box(score, scale_min, scale_max) -%}
    case
        when {{ score }} is null
        then null
        when {{ scale_max }} - {{ scale_min }} <= 1
        then {{ score }} <= {{ scale_min }}
        else {{ score }} <= {{ scale_min }} + 1
    end
{%- endmacro %}

{#-
    The NPS statistics of a cell from its counts (cx-metrics.md): NPS, the 95 % margin of
    error from the variance of the +1/0/−1 coding, and the adjusted-Wald interval (3 added to
    n, 0.75 to promoters and to detractors). Emits columns; the arguments are column names.
-#}
{% macro nps_statistics(promoters, detractors, responses) -%}
    round(100.0 * ({{ promoters }} - {{ detractors }}) / nullif({{ responses }}, 0), 2) as nps,
    round(
        1.96
        * 100
        * sqrt(
            (
                ({{ promoters }} + {{ detractors }}) / nullif({{ responses }}, 0)
                - pow(({{ promoters }} - {{ detractors }}) / nullif({{ responses }}, 0), 2)
            )
            / nullif({{ responses }}, 0)
        ),
        2
    ) as nps_margin_of_error,
    round(
        100.0 * ({{ promoters }} + 0.75 - ({{ detractors }} + 0.75)) / ({{ responses }} + 3), 2
    ) as nps_adjusted_wald,
    round(
        1.96
        * 100
        * sqrt(
            (
                ({{ promoters }} + 0.75 + {{ detractors }} + 0.75) / ({{ responses }} + 3)
                - pow(({{ promoters }} - {{ detractors }}) / ({{ responses }} + 3), 2)
            )
            / ({{ responses }} + 3)
        ),
        2
    ) as nps_adjusted_wald_margin_of_error
{%- endmacro %}
