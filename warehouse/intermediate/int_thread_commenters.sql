-- Who commented in which kept thread, for members of a community in the configured scope
-- ($scope: 'subreddit' or 'global'): the input of thread ownership.
with

comments as (
    select link_id, subreddit, author,
    from stg_comments
    where drop_reason is null
),

threads as (
    select id,
    from stg_submissions
    where drop_reason is null
),

final as (
    select
        comments.link_id as thread_id,
        comments.subreddit,
        memberships.member_id,
        memberships.community_id,
    from comments
    inner join threads on threads.id = comments.link_id
    inner join members
        on members.author = comments.author
        and members.scope = case when $scope = 'global' then 'global' else comments.subreddit end
    inner join memberships
        on memberships.member_id = members.member_id
        and memberships.scope = members.scope
        and memberships.community_id is not null
)

select * from final
