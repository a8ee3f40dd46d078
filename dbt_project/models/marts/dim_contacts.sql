{#-
    One row per live Salesforce contact, on its surviving account. For BI: no names, no
    raw e-mail — a SHA-256 of the normalised address (joinable to other hashed sources)
    and the e-mail's registered domain.
-#}
with

    contacts as (
        select
            contact_id,
            account_id,
            email,
            email_domain,
            title,
            department,
            contact_role,
            has_opted_out_of_email,
            mailing_country,
            lead_source,
            created_at,
            last_modified_at
        from {{ ref('stg_salesforce__contacts') }}
        where not is_deleted
    ),

    survivors as (
        select account_id, surviving_account_id from {{ ref('int_salesforce__account_survivors') }}
    ),

    domains as (
        select host, registered_domain, is_free_mail from {{ ref('int_identity__domains') }}
    ),

    support_users as (
        select email, min(user_id) as zendesk_user_id
        from {{ ref('stg_zendesk__users') }}
        where role = 'end-user' and not is_deleted and email is not null
        group by email
    ),

    with_role as (
        select
            contacts.contact_id,
            contacts.account_id,
            contacts.email,
            contacts.email_domain,
            contacts.title,
            contacts.department,
            contacts.has_opted_out_of_email,
            contacts.mailing_country,
            contacts.lead_source,
            contacts.created_at,
            contacts.last_modified_at,
            {{ normalize_contact_role('contacts.contact_role') }} as role_from_field,
            {{ contact_role_from_title('contacts.title') }} as role_from_title
        from contacts
    ),

    final as (
        select
            with_role.contact_id,
            survivors.surviving_account_id as account_id,
            with_role.account_id as original_account_id,
            coalesce(with_role.role_from_field, with_role.role_from_title, 'end_user') as role,
            case
                when with_role.role_from_field is not null
                then 'contact_role_field'
                when with_role.role_from_title is not null
                then 'title'
                else 'default'
            end as role_source,
            with_role.title,
            with_role.department,
            {{ hash_email('with_role.email') }} as email_hash,
            domains.registered_domain as email_domain,
            coalesce(domains.is_free_mail, false) as is_free_mail,
            with_role.has_opted_out_of_email,
            with_role.mailing_country,
            with_role.lead_source,
            support_users.zendesk_user_id,
            {#- A second record of the same person (same address, same account), as sales reps
            re-enter people: points at the earliest record, which is the one to use. -#}
            case
                when
                    with_role.email is not null
                    and row_number() over (
                        partition by with_role.account_id, with_role.email
                        order by with_role.created_at, with_role.contact_id
                    )
                    > 1
                then
                    first_value(with_role.contact_id) over (
                        partition by with_role.account_id, with_role.email
                        order by with_role.created_at, with_role.contact_id
                    )
            end as duplicate_of_contact_id,
            with_role.created_at,
            with_role.last_modified_at
        from with_role
        left join survivors on survivors.account_id = with_role.account_id
        left join domains on domains.host = with_role.email_domain
        left join support_users on support_users.email = with_role.email
    )

select
    contact_id,
    account_id,
    original_account_id,
    role,
    role_source,
    title,
    department,
    email_hash,
    email_domain,
    is_free_mail,
    has_opted_out_of_email,
    mailing_country,
    lead_source,
    zendesk_user_id,
    duplicate_of_contact_id,
    duplicate_of_contact_id is not null as is_duplicate,
    created_at,
    last_modified_at
from final
