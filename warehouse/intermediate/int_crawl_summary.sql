-- One crawl ($crawl_id): its run record, the observations it stored and its member histories.
with

run as (
    select *,
    from crawl_runs
    where crawl_id = $crawl_id
),

submissions as (
    select count(*) as n,
    from raw_submissions
    where ingest_run_id = $crawl_id and source = 'reddit'
),

comments as (
    select
        count(*) as n,
        count(*) filter (source_file like 'u/%') as from_members,
    from raw_comments
    where ingest_run_id = $crawl_id and source = 'reddit'
),

histories as (
    select count(*) as n,
    from crawl_checkpoints
    where crawl_id = $crawl_id and kind = 'member'
),

final as (
    select
        run.crawl_id,
        run.version,
        run.attempts,
        run.finished_at is not null as finished,
        run.requests,
        run.retries,
        coalesce(run.retry_reasons, '{}') as retry_reasons,
        submissions.n as submissions,
        comments.n as comments,
        histories.n as member_histories,
        comments.from_members as member_comments,
    from run, submissions, comments, histories
)

select * from final
