-- Per community: the share of its members' replies to clustered members that answer a fellow
-- member ($scope as for memberships), a common-bond statistic of the profiles.
with

clustered_comments as (
    select stg_comments.id, stg_comments.parent_id, memberships.community_id,
    from stg_comments
    inner join members
        on members.author = stg_comments.author
        and members.scope
            = case when $scope = 'global' then 'global' else stg_comments.subreddit end
    inner join memberships
        on memberships.member_id = members.member_id
        and memberships.scope = members.scope
        and memberships.community_id is not null
    where stg_comments.drop_reason is null
),

final as (
    select
        child.community_id,
        avg((child.community_id = parent.community_id)::int) as in_community_share,
    from clustered_comments as child
    inner join clustered_comments as parent on child.parent_id = 't1_' || parent.id
    group by child.community_id
    order by child.community_id
)

select * from final
