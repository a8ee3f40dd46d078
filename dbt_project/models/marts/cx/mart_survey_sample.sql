{#-
    The quarterly relationship-NPS drip sample (cx-metrics.md, survey pacing) for the
    quarter var survey_sample_quarter ('YYYY-Qn' or its first day; default: the quarter
    after the reporting date's). One model serves every quarter — the sample for a quarter
    is this model run with that var (`--vars '{"survey_sample_quarter": "2027-Q1"}'`), and is
    reproducible: the same inputs and var survey_sample_seed give the same sample.

    One row per live contact of a customer, with why it is or is not sampled:
    1. eligible: not a duplicate record, not opted out of e-mail, has an address; the
       account pays on the reporting date, has been a customer for var
       survey_min_account_age_days (90) by the quarter's start, and has at least var
       survey_min_active_users (1) product users active in the last 30 days;
    2. excluded: answered the relationship NPS survey in the previous quarter (no contact in
       two consecutive quarterly samples), or was contacted by any survey within the var
       survey_pacing_days (28) before the quarter starts;
    3. stratified random sample by (segment, region) of var survey_sample_size (1000, capped
       at the eligible count): each stratum gets its proportional share (largest-remainder
       rounding), contacts drawn in the order of MD5(seed | quarter | contact_id);
    4. planned_send_date: the sampled contacts, in a second seeded random order, spread
       evenly over the quarter's days (contact i of n on day floor(i × days ÷ n)).
-#}
{%- set quarter_var = cx_var('survey_sample_quarter') -%}
{%- set seed = cx_var('survey_sample_seed') -%}

with

    reporting as (select as_of_date, as_of_end_at from {{ ref('int_reporting_date') }}),

    quarter as (
        select
            {% if quarter_var %}
                {% if '-Q' in (quarter_var | string | upper) %}
                    {%- set parts = (quarter_var | string | upper).split('-Q') -%}
                    make_date({{ parts[0] | int }}, {{ (parts[1] | int - 1) * 3 + 1 }}, 1)
                {% else %} cast(date_trunc('quarter', cast('{{ quarter_var }}' as date)) as date)
                {% endif %}
            {% else %} cast(date_trunc('quarter', reporting.as_of_date) + interval 3 month as date)
            {% endif %} as quarter_start
        from reporting
    ),

    quarter_bounds as (
        select
            quarter_start,
            cast(quarter_start + interval 3 month as date) as quarter_end,
            cast(quarter_start - interval 3 month as date) as previous_quarter_start,
            year(quarter_start) || '-Q' || quarter(quarter_start) as quarter_label
        from quarter
    ),

    contacts as (
        select contact_id, account_id, role, email_hash, has_opted_out_of_email, is_duplicate
        from {{ ref('dim_contacts') }}
        where account_id is not null
    ),

    accounts as (
        select account_id, segment, region, is_billing_customer, customer_since_date
        from {{ ref('dim_customers') }}
    ),

    usage as (select account_id, active_users_last_30_days from {{ ref('customer_360') }}),

    customers as (
        select
            accounts.account_id,
            accounts.segment,
            accounts.region,
            accounts.is_billing_customer,
            accounts.customer_since_date,
            usage.active_users_last_30_days
        from accounts
        left join usage on usage.account_id = accounts.account_id
    ),

    responses as (
        select contact_id, survey_type, touchpoint, responded_at
        from {{ ref('fct_survey_responses') }}
        where contact_id is not null
    ),

    delighted_people as (
        select {{ hash_email('email') }} as email_hash, max(last_sent_at) as last_sent_at
        from {{ ref('stg_delighted__people') }}
        where email is not null
        group by all
    ),

    survey_history as (
        select
            contacts.contact_id,
            max(responses.responded_at) filter (
                where
                    responses.survey_type = 'NPS'
                    and responses.touchpoint = 'relationship'
                    and cast(responses.responded_at as date)
                    >= quarter_bounds.previous_quarter_start
                    and cast(responses.responded_at as date) < quarter_bounds.quarter_start
            ) as previous_quarter_nps_at,
            greatest(
                max(responses.responded_at) filter (
                    where cast(responses.responded_at as date) < quarter_bounds.quarter_start
                ),
                max(delighted_people.last_sent_at) filter (
                    where cast(delighted_people.last_sent_at as date) < quarter_bounds.quarter_start
                )
            ) as last_surveyed_at
        from contacts
        cross join quarter_bounds
        left join responses on responses.contact_id = contacts.contact_id
        left join delighted_people on delighted_people.email_hash = contacts.email_hash
        group by contacts.contact_id
    ),

    candidates as (
        select
            contacts.contact_id,
            contacts.account_id,
            contacts.role,
            coalesce(customers.segment, 'unknown') as segment,
            coalesce(customers.region, 'unknown') as region,
            survey_history.previous_quarter_nps_at,
            survey_history.last_surveyed_at,
            quarter_bounds.quarter_start,
            quarter_bounds.quarter_end,
            quarter_bounds.quarter_label,
            case
                when contacts.is_duplicate
                then 'duplicate_contact'
                when contacts.has_opted_out_of_email
                then 'opted_out'
                when contacts.email_hash is null
                then 'no_email'
                when not coalesce(customers.is_billing_customer, false)
                then 'not_paying'
                when
                    customers.customer_since_date is null
                    or customers.customer_since_date
                    > quarter_bounds.quarter_start - {{ cx_var('survey_min_account_age_days') }}
                then 'account_too_new'
                when
                    coalesce(customers.active_users_last_30_days, 0)
                    < {{ cx_var('survey_min_active_users') }}
                then 'account_inactive'
                when survey_history.previous_quarter_nps_at is not null
                then 'surveyed_previous_quarter'
                when
                    survey_history.last_surveyed_at >= cast(
                        quarter_bounds.quarter_start
                        - {{ cx_var('survey_pacing_days') }} as timestamp
                    )
                then 'pacing_window'
            end as exclusion_reason,
            md5(
                '{{ seed }}|' || quarter_bounds.quarter_label || '|' || contacts.contact_id
            ) as sample_order_key,
            md5(
                '{{ seed }}|' || quarter_bounds.quarter_label || '|send|' || contacts.contact_id
            ) as send_order_key
        from contacts
        cross join quarter_bounds
        left join customers on customers.account_id = contacts.account_id
        left join survey_history on survey_history.contact_id = contacts.contact_id
    ),

    eligible as (select * from candidates where exclusion_reason is null),

    totals as (
        select
            count(*) as eligible_contacts,
            least(count(*), {{ cx_var('survey_sample_size') }}) as sample_size
        from eligible
    ),

    strata as (
        select
            eligible.segment,
            eligible.region,
            count(*) as stratum_contacts,
            count(*) * totals.sample_size / totals.eligible_contacts as exact_quota
        from eligible
        cross join totals
        group by eligible.segment, eligible.region, totals.sample_size, totals.eligible_contacts
    ),

    allocation as (
        select
            strata.*,
            floor(exact_quota) + case
                when
                    row_number() over (
                        order by exact_quota - floor(exact_quota) desc, segment, region
                    )
                    <= totals.sample_size - sum(floor(exact_quota)) over ()
                then 1
                else 0
            end as stratum_quota
        from strata
        cross join totals
    ),

    ranked as (
        select
            eligible.contact_id,
            row_number() over (
                partition by eligible.segment, eligible.region order by eligible.sample_order_key
            ) as stratum_rank
        from eligible
    ),

    sampled as (
        select
            ranked.contact_id, eligible.send_order_key, eligible.quarter_start, eligible.quarter_end
        from ranked
        inner join eligible on eligible.contact_id = ranked.contact_id
        inner join
            allocation
            on allocation.segment = eligible.segment
            and allocation.region = eligible.region
        where ranked.stratum_rank <= allocation.stratum_quota
    ),

    scheduled as (
        select
            contact_id,
            row_number() over (order by send_order_key) - 1 as send_position,
            count(*) over () as sampled_contacts,
            quarter_start,
            quarter_end
        from sampled
    ),

    final as (
        select
            candidates.contact_id,
            candidates.account_id,
            candidates.role,
            candidates.segment,
            candidates.region,
            candidates.quarter_label,
            candidates.quarter_start,
            candidates.exclusion_reason is null as is_eligible,
            candidates.exclusion_reason,
            scheduled.contact_id is not null as is_sampled,
            cast(
                candidates.quarter_start + cast(
                    floor(
                        scheduled.send_position
                        * (candidates.quarter_end - candidates.quarter_start)
                        / scheduled.sampled_contacts
                    ) as integer
                ) as date
            ) as planned_send_date,
            candidates.previous_quarter_nps_at,
            candidates.last_surveyed_at,
            candidates.sample_order_key
        from candidates
        left join scheduled on scheduled.contact_id = candidates.contact_id
    )

select
    contact_id,
    account_id,
    role,
    segment,
    region,
    quarter_label,
    quarter_start,
    is_eligible,
    exclusion_reason,
    is_sampled,
    planned_send_date,
    previous_quarter_nps_at,
    last_surveyed_at,
    sample_order_key
from final
