-- How many of the items a previous release used ($items) are now deleted, removed or taken
-- down: the card's "Removed since" line.
with

gone as (
    select 't1_' || id as item,
    from stg_comments
    where drop_reason in ('deleted', 'removed', 'takedown')
    union all
    select 't3_' || id as item,
    from stg_submissions
    where drop_reason in ('deleted', 'removed', 'takedown')
),

final as (
    select count(*) as removed,
    from gone
    where item in (select unnest($items::varchar[]))
)

select * from final
