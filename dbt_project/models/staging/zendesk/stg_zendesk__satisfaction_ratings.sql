with

    source as (select * from {{ source('zendesk', 'satisfaction_ratings') }}),

    renamed as (
        select
            id as satisfaction_rating_id,
            ticket_id,
            requester_id,
            assignee_id,
            group_id,
            score,
            score in ('good', 'bad') as is_response,
            case score when 'good' then true when 'bad' then false end as is_satisfied,
            comment,
            reason,
            _deleted_at is not null as is_deleted,
            {{ to_utc('created_at') }} as created_at,
            {{ to_utc('updated_at') }} as updated_at,
            {{ to_utc('_loaded_at') }} as loaded_at
        from source
    ),

    deduplicated as (
        select *
        from renamed
        qualify
            row_number() over (
                partition by satisfaction_rating_id order by updated_at desc, loaded_at desc
            )
            = 1
    )

select *
from deduplicated
