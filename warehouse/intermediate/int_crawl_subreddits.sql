-- Per configured subreddit of one crawl ($crawl_id), in the configured order: the posts its
-- listings queued and what became of their threads (a subreddit with none shows zeros).
with

configured as (
    select
        unnest(json_extract_string(settings, '$.subreddits[*]')) as subreddit,
        generate_subscripts(json_extract_string(settings, '$.subreddits[*]'), 1) as position,
    from crawl_runs
    where crawl_id = $crawl_id
),

threads as (
    select subreddit, status, fully_expanded, comment_count,
    from crawl_threads
    where crawl_id = $crawl_id
),

per_subreddit as (
    select
        subreddit,
        count(*) as submissions,
        count(*) filter (status = 'ok') as threads_ok,
        count(*) filter (status = 'partial') as threads_partial,
        count(*) filter (status = 'failed') as threads_failed,
        count(*) filter (status = 'pending') as threads_pending,
        count(*) filter (fully_expanded) as fully_expanded,
        sum(comment_count) as comments,
    from threads
    group by subreddit
),

final as (
    select
        configured.subreddit,
        coalesce(per_subreddit.submissions, 0) as submissions,
        coalesce(per_subreddit.threads_ok, 0) as threads_ok,
        coalesce(per_subreddit.threads_partial, 0) as threads_partial,
        coalesce(per_subreddit.threads_failed, 0) as threads_failed,
        coalesce(per_subreddit.threads_pending, 0) as threads_pending,
        coalesce(per_subreddit.fully_expanded, 0) as fully_expanded,
        coalesce(per_subreddit.comments, 0)::bigint as comments,
    from configured
    left join per_subreddit on per_subreddit.subreddit = configured.subreddit
    order by configured.position
)

select * from final
