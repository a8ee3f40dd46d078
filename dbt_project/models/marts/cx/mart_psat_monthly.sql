{#-
    PSAT by reporting month (cx-metrics.md): top-two-box % on the in-product satisfaction
    question (1–5), mean score, n, per feature (breakdown `feature`) and overall. Delighted
    reports no sends, so the response rate is empty. Body: macro survey_monthly_mart.
-#}
{{ survey_monthly_mart('PSAT', 'is_satisfied', 'satisfied', extra=[("feature", "feature", "false")]) }}
