-- Kept top-level replies with their votes, posting time and embedding ($model, $revision):
-- the pool option sets are chosen from. updown_known marks sources with real down votes
-- ($updown_sources) on rows that carry them.
with

replies as (
    select *,
    from stg_comments
    where drop_reason is null and is_top_level
),

vectors as (
    select texts.item_id, vectors.vector,
    from texts
    inner join model_vectors($model, $revision) as vectors
        on vectors.text_hash = texts.text_hash
),

final as (
    select
        replies.link_id as thread_id,
        replies.subreddit,
        't1_' || replies.id as option_id,
        replies.body,
        replies.score,
        replies.ups,
        replies.downs,
        epoch(replies.created_utc) as created_s,
        -- a Stack Exchange dump without Votes.xml has no U and D (null): score only
        list_contains($updown_sources::varchar[], replies.source)
            and replies.ups is not null and replies.downs is not null as updown_known,
        vectors.vector,
    from replies
    left join vectors on vectors.item_id = 't1_' || replies.id
)

select * from final
