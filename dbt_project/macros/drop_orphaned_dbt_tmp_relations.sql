{% macro drop_orphaned_dbt_tmp_relations() %}
    {#- A dbt build killed mid-way leaves its incremental models' `<model>__dbt_tmp…`
        relations behind, and dbt-duckdb leaves an incremental Python model's behind after
        every run. The warehouse file admits one writer, so before and after a run no
        build step can be using one: they are all orphans, and are dropped. -#}
    {% if execute %}
        {% set found = run_query(
            "select schema_name, table_name, 'table' as kind from duckdb_tables()"
            ~ " where database_name = current_database() and table_name like '%\\_\\_dbt\\_tmp%' escape '\\'"
            ~ " union all select schema_name, view_name, 'view' from duckdb_views()"
            ~ " where database_name = current_database() and not internal"
            ~ " and view_name like '%\\_\\_dbt\\_tmp%' escape '\\'"
        ) %}
        {% for row in found.rows %}
            {% do run_query(
                "drop " ~ row[2] ~ " if exists " ~ adapter.quote(row[0]) ~ "." ~ adapter.quote(row[1])
            ) %}
            {{ log("dropped orphaned " ~ row[2] ~ " " ~ row[0] ~ "." ~ row[1], info=true) }}
        {% endfor %}
    {% endif %}
{% endmacro %}
