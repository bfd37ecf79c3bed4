with

instances as (
    select 'pi' as task, instance_id, community_id, subreddit, thread_id, k, query_title,
    from task_pi
    union all
    select 'dp' as task, instance_id, community_id, subreddit, thread_id, k, query_title,
    from task_dp
    union all
    select 'ccg' as task, instance_id, community_id, subreddit, thread_id, k, query_title,
    from task_ccg
    union all
    select 'ci' as task, instance_id, community_id, subreddit, thread_id, k, query_title,
    from task_ci
),

final as (
    select
        instances.task,
        instances.instance_id,
        instances.community_id,
        instances.subreddit,
        instances.thread_id,
        instance_splits.split,
        instances.k,
        instances.query_title,
    from instances
    left join instance_splits
        on instance_splits.task = instances.task
        and instance_splits.instance_id = instances.instance_id
)

select * from final
