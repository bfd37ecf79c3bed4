-- Which members of a scope ($scope as for memberships) commented in which thread (kept comments):
-- co-commenting, the other input of the common bond (see int_member_replies).
with

final as (
    select distinct members.scope, members.member_id, stg_comments.link_id as thread_id,
    from stg_comments
    inner join members
        on members.author = stg_comments.author
        and members.scope = member_scope(stg_comments.subreddit, $scope)
    where stg_comments.drop_reason is null
    order by members.scope, members.member_id, thread_id
)

select * from final
