with

owned as (
    select community_id, count(*) as owned_threads,
    from thread_ownership
    where is_owner
    group by all
),

instances as (
    select community_id, 'pi' as task, from task_pi
    union all
    select community_id, 'dp' as task, from task_dp
    union all
    select community_id, 'ccg' as task, from task_ccg
    union all
    select community_id, 'ci' as task, from task_ci
),

per_task as (
    select
        community_id,
        count(*) filter (where task = 'pi') as pi_instances,
        count(*) filter (where task = 'dp') as dp_instances,
        count(*) filter (where task = 'ccg') as ccg_instances,
        count(*) filter (where task = 'ci') as ci_instances,
        count(*) as instances,
    from instances
    group by all
),

final as (
    select
        communities.community_id,
        communities.scope,
        communities.level,
        communities.parent_id,
        communities.stability,
        communities.published,
        profiles.subreddit,
        communities.size,
        communities.persistence,
        profiles.profile_method,
        profiles.summary,
        coalesce(owned.owned_threads, 0) as owned_threads,
        coalesce(per_task.pi_instances, 0) as pi_instances,
        coalesce(per_task.dp_instances, 0) as dp_instances,
        coalesce(per_task.ccg_instances, 0) as ccg_instances,
        coalesce(per_task.ci_instances, 0) as ci_instances,
        coalesce(per_task.instances, 0) as instances,
    from communities
    left join profiles on profiles.community_id = communities.community_id
    left join owned on owned.community_id = communities.community_id
    left join per_task on per_task.community_id = communities.community_id
    order by communities.scope, communities.level, communities.size desc, communities.community_id
)

select * from final
