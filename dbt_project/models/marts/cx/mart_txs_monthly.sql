{#-
    TXS, the touchpoint experience score (cx-metrics.md): top-two-box % on the surveys
    attached to a human interaction (onboarding call, sales meeting), mean score on 1–5, n,
    sends and the response rate, by reporting month, touchpoint, support group and agent
    (for sales meetings the opportunity owner). Body: macro survey_monthly_mart.
-#}
{{ survey_monthly_mart('TXS', 'is_satisfied', 'satisfied') }}
