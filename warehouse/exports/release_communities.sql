-- The communities a release's instances are about (its ids.json).
with

final as (
    select distinct community_id, from instance_splits order by community_id
)

select * from final
