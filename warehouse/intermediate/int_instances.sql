-- Every task instance of the four task tables with what its split is grouped by.
with

instances as (
    select 'pi' as task, instance_id, thread_id, community_id, level, query_id, from task_pi
    union all
    select 'dp' as task, instance_id, thread_id, community_id, level, query_id, from task_dp
    union all
    select 'ccg' as task, instance_id, thread_id, community_id, level, query_id, from task_ccg
    union all
    select 'ci' as task, instance_id, thread_id, community_id, level, query_id, from task_ci
),

final as (
    select * from instances order by task, instance_id
)

select * from final
