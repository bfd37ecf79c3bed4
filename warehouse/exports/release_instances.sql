-- The instances of a release as '<task>:<instance_id>' (its ids.json).
with

final as (
    select task || ':' || instance_id as instance, from instance_splits order by instance
)

select * from final
