-- Kept top-level replies with their votes, posting time, exposure inputs (delay after the
-- submission, rank by posting time, the thread's size, length) and embedding ($model,
-- $revision): the pool option sets are chosen from, and what the exposure model is fitted on.
-- updown_known marks sources with real down votes ($updown_sources) on rows that carry them.
with

replies as (
    select
        *,
        row_number() over (partition by link_id order by created_utc, id) - 1 as reply_rank,
        count(*) over (partition by link_id) as n_replies,
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
        greatest(epoch(replies.created_utc) - epoch(submissions.created_utc), 0) as delay_s,
        replies.reply_rank,
        replies.n_replies,
        length(replies.body) as length,
        -- a Stack Exchange dump without Votes.xml has no U and D (null): score only
        list_contains($updown_sources::varchar[], replies.source)
            and replies.ups is not null and replies.downs is not null as updown_known,
        vectors.vector,
    from replies
    inner join stg_submissions as submissions on submissions.id = replies.link_id
    left join vectors on vectors.item_id = 't1_' || replies.id
)

select * from final
