-- Per community: the share of its members' replies to clustered members that answer a fellow
-- member ($scope as for memberships), a common-bond statistic of the profiles.
with

clustered_comments as (
    select stg_comments.id, stg_comments.parent_id, clustered.level, clustered.community_id,
    from stg_comments
    inner join clustered_members() as clustered
        on clustered.author = stg_comments.author
        and clustered.scope = member_scope(stg_comments.subreddit, $scope)
    where stg_comments.drop_reason is null
),

final as (
    select
        child.community_id,
        avg((child.community_id = parent.community_id)::int) as in_community_share,
    from clustered_comments as child
    inner join clustered_comments as parent
        on child.parent_id = 't1_' || parent.id and child.level = parent.level
    group by child.community_id
    order by child.community_id
)

select * from final
