-- Every item (query, option and reference fullname) the task tables of a release use: the
-- release's ids.json, so the next release can say which of them were removed since.
with

items as (
    select unnest(list_value(query_id) || option_ids) as item, from task_pi
    union
    select unnest(list_value(query_id) || option_ids) as item, from task_dp
    union
    select unnest(list_value(query_id) || option_ids || reference_ids) as item, from task_ccg
    union
    select unnest(list_value(query_id) || option_ids) as item, from task_ci
),

final as (
    select distinct item, from items order by item
)

select * from final
