{#-
    CES by reporting month (cx-metrics.md): mean agreement with "the company made it easy
    to handle my issue" on 1–7 (mean_score) and % easy = share of 5–7 (pct_easy), both
    published and labelled; n, sends and the response rate; by touchpoint, survey source,
    support group and agent. Body: macro survey_monthly_mart.
-#}
{{ survey_monthly_mart('CES', 'is_easy', 'easy') }}
