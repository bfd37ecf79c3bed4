-- Units of one crawl ($crawl_id) that failed for good, by kind (listing, thread, expansion,
-- member); the messages are in crawl_errors.
with

errors as (
    select kind,
    from crawl_errors
    where crawl_id = $crawl_id
),

final as (
    select kind, count(*) as errors,
    from errors
    group by kind
    order by kind
)

select * from final
