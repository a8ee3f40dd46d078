{#-
    Generic data test: no two rows share the same values of `columns` (a model's grain).
    Usage: data_tests: [{unique_combination: {arguments: {columns: [a, b]}}}]
-#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as rows_with_these_values
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
