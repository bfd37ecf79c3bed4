-- One row per comment from the append-only observations in raw_comments.
-- Parameters (getvariable): takedown_authors, takedown_items, min_chars, max_chars, bot_names, bot_pattern, bot_allow, repeat_threads.
with

-- each comment's latest observation, its history and its irreversible status
-- (macros/latest_observations.sql)
latest as (
    select * from latest_observations('raw_comments')
),

-- the body of the latest observation that still had content: deletion never erases history
with_content as (
    select id, arg_max(body, retrieved_at) as body,
    from raw_comments
    where status = 'ok'
    group by id
),

comments as (
    select
        latest.id,
        latest.link_id,
        latest.parent_id,
        -- a reply to the thread itself; Stack Exchange comments on a question are not answers
        coalesce(latest.parent_id like 't3_%', false)
            and latest.source <> 'stackexchange_comment' as is_top_level,
        lower(latest.subreddit) as subreddit,
        latest.author,
        with_content.body,
        md5(with_content.body) as body_hash,
        lower(regexp_replace(with_content.body, '[^A-Za-z0-9]+', '', 'g')) as body_norm,
        latest.score,
        latest.ups,
        latest.downs,
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

-- spam bots: one identical body posted in many different threads
repeaters as (
    select distinct author
    from comments
    where author is not null and status = 'ok'
    group by author, body_hash
    having count(distinct link_id) >= getvariable('repeat_threads')
),

ranked as (
    select
        comments.*,
        repeaters.author is not null as is_repeater,
        row_number() over (
            partition by comments.author, comments.link_id, comments.body_hash
            order by comments.created_utc, comments.id
        ) as copy_rank,
        row_number() over (
            partition by comments.author, comments.link_id, comments.body_norm
            order by comments.created_utc, comments.id
        ) as near_copy_rank,
    from comments
    left join repeaters on repeaters.author = comments.author
),

final as (
    select
        *,
        case
            when status = 'deleted' then 'deleted'
            when status = 'removed' then 'removed'
            when list_contains(getvariable('takedown_authors'), author)
                or list_contains(getvariable('takedown_items'), 't1_' || id) then 'takedown'
            when list_contains(getvariable('bot_names'), author) then 'bot'
            when regexp_matches(author, getvariable('bot_pattern'))
                and not list_contains(getvariable('bot_allow'), author) then 'bot'
            when is_repeater then 'bot'
            when distinguished in ('moderator', 'admin') then 'moderator'
            when stickied then 'stickied'
            when body is null or length(trim(body)) < getvariable('min_chars') then 'too_short'
            when length(body) > getvariable('max_chars') then 'too_long'
            when body_hash is not null and copy_rank > 1 then 'duplicate'
            when body_norm <> '' and near_copy_rank > 1 then 'near_duplicate'
        end as drop_reason,
    from ranked
)

select * exclude (body_norm, is_repeater, copy_rank, near_copy_rank) from final
