-- The reply graph between members of a scope ($scope as for memberships): how many kept comments
-- member_id wrote in reply to a kept comment of parent_member_id. One input of the common bond
-- that sub-communities are found from (the other: int_member_threads).
with

comments as (
    select stg_comments.id, stg_comments.parent_id, members.scope, members.member_id,
    from stg_comments
    inner join members
        on members.author = stg_comments.author
        and members.scope = member_scope(stg_comments.subreddit, $scope)
    where stg_comments.drop_reason is null
),

final as (
    select
        child.scope,
        child.member_id,
        parent.member_id as parent_member_id,
        count(*) as n,
    from comments as child
    inner join comments as parent
        on child.parent_id = 't1_' || parent.id
        and child.scope = parent.scope
    where child.member_id <> parent.member_id
    group by all
    order by child.scope, child.member_id, parent_member_id
)

select * from final
