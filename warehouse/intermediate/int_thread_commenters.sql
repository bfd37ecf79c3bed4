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
        clustered.member_id,
        clustered.level,
        clustered.community_id,
    from comments
    inner join threads on threads.id = comments.link_id
    inner join clustered_members() as clustered
        on clustered.author = comments.author
        and clustered.scope = member_scope(comments.subreddit, $scope)
)

select * from final
