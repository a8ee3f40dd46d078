{#- Every resolved (or unresolvable) source record, from every link model, in one place. -#}
with

    organizations as (
        select {{ identity_link_columns() }}
        from {{ ref('int_identity__zendesk_organization_links') }}
    ),

    users as (
        select {{ identity_link_columns() }} from {{ ref('int_identity__zendesk_user_links') }}
    ),

    workspaces as (
        select {{ identity_link_columns() }} from {{ ref('int_identity__workspace_links') }}
    ),

    product_users as (
        select {{ identity_link_columns() }} from {{ ref('int_identity__product_user_links') }}
    ),

    respondents as (
        select {{ identity_link_columns() }} from {{ ref('int_identity__survey_respondent_links') }}
    )

select *
from organizations
union all by name
select *
from users
union all by name
select *
from workspaces
union all by name
select *
from product_users
union all by name
select *
from respondents
