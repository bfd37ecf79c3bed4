-- Kept staging items (comments and submissions), the input of the texts stage.
with

comments as (
    select
        'comment' as kind,
        id,
        link_id,
        subreddit,
        author,
        created_utc,
        body,
        null::varchar as title,
        null::varchar as selftext,
    from stg_comments
    where drop_reason is null
),

submissions as (
    select
        'submission' as kind,
        id,
        null::varchar as link_id,
        subreddit,
        author,
        created_utc,
        null::varchar as body,
        title,
        selftext,
    from stg_submissions
    where drop_reason is null
),

final as (
    select * from comments
    union all by name
    select * from submissions
)

select * from final
