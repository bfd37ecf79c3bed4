-- Named commenters of one crawl's threads ($crawl_id) active in at least $min_threads threads,
-- most active first: whose comment histories the crawl fetches.
with

thread_comments as (
    select author, link_id,
    from raw_comments
    where ingest_run_id = $crawl_id
        and source = 'reddit'
        and source_file like 'thread:%'
        and author is not null
        and author <> '[deleted]'
),

final as (
    select author, count(distinct link_id) as threads,
    from thread_comments
    group by author
    having count(distinct link_id) >= $min_threads
    order by threads desc, author
)

select * from final
