{#-
    CSAT by reporting month (cx-metrics.md): % satisfied = top-two-box responses (4–5 on
    1–5; Zendesk 'good') ÷ responses × 100, mean score on the 1–5 scale, n, sends and the
    response rate; by touchpoint, survey source, support group and agent. Body: macro
    survey_monthly_mart.
-#}
{{ survey_monthly_mart('CSAT', 'is_satisfied', 'satisfied') }}
