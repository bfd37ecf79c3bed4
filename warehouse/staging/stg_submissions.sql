-- One row per submission (thread) from the append-only observations in raw_submissions.
-- Parameters (getvariable): takedown_authors, takedown_items, max_chars, bot_names, bot_pattern, bot_allow.
with

-- each thread's latest observation, its history and its irreversible status
-- (macros/latest_observations.sql)
latest as (
    select * from latest_observations('raw_submissions')
),

-- the text of the latest observation that still had content: deletion never erases history
with_content as (
    select
        id,
        arg_max(title, retrieved_at) as title,
        arg_max(selftext, retrieved_at) as selftext,
    from raw_submissions
    where status = 'ok'
    group by id
),

submissions as (
    select
        latest.id,
        lower(latest.subreddit) as subreddit,
        latest.author,
        with_content.title,
        with_content.selftext,
        md5(coalesce(with_content.title, '') || chr(10) || coalesce(with_content.selftext, ''))
            as body_hash,
        latest.score,
        latest.num_comments,
        latest.created_utc,
        latest.distinguished,
        coalesce(latest.stickied, false) as stickied,
        latest.status,
        latest.n_observations,
        latest.first_retrieved_at,
        latest.last_retrieved_at,
        latest.source,
    from latest
    left join with_content on with_content.id = latest.id
),

ranked as (
    select
        *,
        row_number() over (
            partition by author, subreddit, body_hash order by created_utc, id
        ) as copy_rank,
    from submissions
),

final as (
    select
        *,
        case
            when status = 'deleted' then 'deleted'
            when status = 'removed' then 'removed'
            when list_contains(getvariable('takedown_authors'), author)
                or list_contains(getvariable('takedown_items'), 't3_' || id) then 'takedown'
            when list_contains(getvariable('bot_names'), author) then 'bot'
            when regexp_matches(author, getvariable('bot_pattern'))
                and not list_contains(getvariable('bot_allow'), author) then 'bot'
            when distinguished in ('moderator', 'admin') then 'moderator'
            when stickied then 'stickied'
            when length(coalesce(selftext, '')) > getvariable('max_chars') then 'too_long'
            when author is not null and copy_rank > 1 then 'duplicate'
        end as drop_reason,
    from ranked
)

select * exclude (copy_rank) from final
