-- The filters placeholder becomes the configured subreddit/date clauses (empty when unset).
-- Append the batch's submission observations that pass the configured filters.
insert into raw_submissions by name
select
    getvariable('file_key')[:16] || ':' || line_no as obs_id,
    id,
    subreddit,
    author,
    title,
    selftext,
    cast(score_num as bigint) as score,
    ups,
    downs,
    num_comments,
    upvote_ratio,
    created_utc,
    distinguished,
    stickied,
    url,
    case
        when selftext = '[deleted]' then 'deleted'
        when selftext = '[removed]' or selftext like '[removed by %' then 'removed'
        else 'ok'
    end as status,
    coalesce(
        make_timestamp(cast(retrieved_num * 1e6 as bigint)), getvariable('fallback_retrieved')
    ) as retrieved_at,
    'dump' as source,
    getvariable('source_file') as source_file,
    line_no as source_line,
    getvariable('run_id') as ingest_run_id,
from {parsed}
where reason is null
    and kind = 'submission'
    {filters}
