-- The filters placeholder becomes the configured subreddit/date clauses (empty when unset).
-- Append the batch's comment observations that pass the configured filters.
insert into raw_comments by name
select
    getvariable('file_key')[:16] || ':' || line_no as obs_id,
    id,
    link_id,
    parent_id,
    subreddit,
    author,
    body,
    cast(score_num as bigint) as score,
    ups,
    downs,
    created_utc,
    distinguished,
    stickied,
    case
        when body = '[deleted]' then 'deleted'
        when body = '[removed]' or body like '[removed by %' then 'removed'
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
    and kind = 'comment'
    {filters}
