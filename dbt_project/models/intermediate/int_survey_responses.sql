{#-
    Qualtrics and Delighted responses in one shape: program (nps, csat, ces, txs, psat),
    score on its scale, NPS code and top-two-box flag (cx-metrics.md), UTC time, and the
    respondent's account from int_identity__survey_respondent_links.
-#}
with

    programs as (select * from {{ ref('qualtrics_survey_programs') }}),

    qualtrics as (
        select
            'qualtrics_response' as source_system,
            responses.response_id,
            'qualtrics' as survey_source,
            responses.survey_id,
            surveys.survey_name,
            programs.survey_program,
            coalesce(programs.touchpoint, responses.touchpoint) as touchpoint,
            programs.scale_min,
            programs.scale_max,
            responses.score,
            responses.comment is not null as has_comment,
            responses.recorded_at as responded_at,
            responses.interaction_at
        from {{ ref('stg_qualtrics__survey_responses') }} as responses
        left join
            {{ ref('stg_qualtrics__surveys') }} as surveys
            on surveys.survey_id = responses.survey_id
        left join programs on programs.survey_name = surveys.survey_name
        where not responses.is_deleted and responses.is_finished
    ),

    delighted as (
        select
            'delighted_response' as source_system,
            response_id,
            'delighted' as survey_source,
            cast(null as varchar) as survey_id,
            'Delighted ' || coalesce(survey_program, survey_type) as survey_name,
            lower(coalesce(survey_program, survey_type)) as survey_program,
            'in_product' as touchpoint,
            case
                when lower(coalesce(survey_program, survey_type)) = 'nps' then 0 else 1
            end as scale_min,
            case
                lower(coalesce(survey_program, survey_type))
                when 'nps'
                then 10
                when 'ces'
                then 7
                else 5
            end as scale_max,
            score,
            comment is not null as has_comment,
            created_at as responded_at,
            created_at as interaction_at
        from {{ ref('stg_delighted__survey_responses') }}
        where not is_deleted
    ),

    unioned as (
        select *
        from qualtrics
        union all by name
        select *
        from delighted
    ),

    links as (
        select source_system, source_id, account_id, match_method, match_confidence
        from {{ ref('int_identity__survey_respondent_links') }}
    )

select
    {{ dbt.hash("unioned.source_system || '|' || unioned.response_id") }} as survey_response_key,
    unioned.source_system,
    unioned.response_id,
    unioned.survey_source,
    unioned.survey_id,
    unioned.survey_name,
    unioned.survey_program,
    unioned.touchpoint,
    unioned.scale_min,
    unioned.scale_max,
    unioned.score,
    case
        when unioned.survey_program <> 'nps'
        then null
        when unioned.score >= 9
        then 'promoter'
        when unioned.score >= 7
        then 'passive'
        else 'detractor'
    end as nps_category,
    case
        when unioned.survey_program <> 'nps'
        then null
        when unioned.score >= 9
        then 1
        when unioned.score >= 7
        then 0
        else -1
    end as nps_code,
    case
        when unioned.survey_program in ('csat', 'txs', 'psat')
        then unioned.score >= unioned.scale_max - 1
    end as is_top_two_box,
    case when unioned.survey_program = 'ces' then unioned.score >= 5 end as is_easy,
    unioned.has_comment,
    unioned.responded_at,
    unioned.interaction_at,
    links.account_id,
    links.match_method,
    links.match_confidence
from unioned
left join
    links on links.source_system = unioned.source_system and links.source_id = unioned.response_id
