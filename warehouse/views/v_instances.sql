-- One row per task instance of the four tasks, with its split once splits are assigned.
-- columns:
--   task: pi, dp, ccg or ci.
--   instance_id: The instance (unique within a task).
--   community_id: The community the instance is about (the thread's owner).
--   subreddit: The thread's subreddit.
--   thread_id: Submission id (without t3_) of the query.
--   split: train, dev or test (instance_splits); null when the instance has no split yet.
--   k: Number of options.
--   query_title: Thread title.
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
