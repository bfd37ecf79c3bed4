-- One row per submission (thread) from the append-only observations in raw_submissions.
-- Parameters (getvariable): takedown_authors, takedown_items, max_chars, bot_names, bot_pattern, bot_allow.
with

observations as (
    select
        *,
        row_number() over (
            partition by id order by retrieved_at desc, source_line desc nulls last, obs_id desc
        ) as recency,
    from raw_submissions
),

latest as (
    select * from observations where recency = 1
),

with_content as (
    select
        id,
        arg_max(title, retrieved_at) as title,
        arg_max(selftext, retrieved_at) as selftext,
        arg_max(nullif(author, '[deleted]'), retrieved_at) as author,
    from observations
    where status = 'ok'
    group by id
),

last_gone as (
    select id, arg_max(status, retrieved_at) as status,
    from observations
    where status <> 'ok'
    group by id
),

history as (
    select
        id,
        count(*) as n_observations,
        min(retrieved_at) as first_retrieved_at,
        max(retrieved_at) as last_retrieved_at,
        min(created_utc) as created_utc,
    from observations
    group by id
),

submissions as (
    select
        latest.id,
        lower(latest.subreddit) as subreddit,
        with_content.author,
        with_content.title,
        with_content.selftext,
        md5(coalesce(with_content.title, '') || chr(10) || coalesce(with_content.selftext, ''))
            as body_hash,
        latest.score,
        latest.num_comments,
        history.created_utc,
        latest.distinguished,
        coalesce(latest.stickied, false) as stickied,
        coalesce(last_gone.status, 'ok') as status,
        history.n_observations,
        history.first_retrieved_at,
        history.last_retrieved_at,
        latest.source,
    from latest
    inner join history on history.id = latest.id
    left join with_content on with_content.id = latest.id
    left join last_gone on last_gone.id = latest.id
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
