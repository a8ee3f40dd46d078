{#- Salesforce Contact_Role__c picklist label → decision_maker/champion/admin/end_user. -#}
{% macro normalize_contact_role(expression) -%}
    case
        regexp_replace(lower(trim({{ expression }})), '[^a-z]+', '_', 'g')
        when 'decision_maker'
        then 'decision_maker'
        when 'economic_buyer'
        then 'decision_maker'
        when 'executive_sponsor'
        then 'decision_maker'
        when 'champion'
        then 'champion'
        when 'admin'
        then 'admin'
        when 'administrator'
        then 'admin'
        when 'end_user'
        then 'end_user'
        when 'user'
        then 'end_user'
    end
{%- endmacro %}

{#-
    Fallback when the picklist is empty: the role a job title implies (executives decide,
    leads and managers champion, administrators administer); NULL when it implies none.
-#}
{% macro contact_role_from_title(expression) -%}
    case
        when
            regexp_matches(
                lower({{ expression }}),
                '\b(chief|vp|vice president|head of|cto|ceo|coo|cfo|cio|president|owner)\b'
            )
            and not regexp_matches(lower({{ expression }}), '\bplatform owner\b')
        then 'decision_maker'
        when regexp_matches(lower({{ expression }}), '\b(administrator|admin|platform owner)\b')
        then 'admin'
        when
            regexp_matches(lower({{ expression }}), '\b(lead|manager|director)\b')
            and not regexp_matches(lower({{ expression }}), '\baccount manager\b')
        then 'champion'
    end
{%- endmacro %}
