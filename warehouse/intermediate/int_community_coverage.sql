-- Coverage per community level: the share of kept comments written by a member of a published
-- community of that level ($scope as for memberships).
with

kept as (
    select id, author, subreddit, from stg_comments where drop_reason is null
),

levels as (
    select distinct level, from memberships
),

covered as (
    select clustered.level, count(distinct kept.id) as covered_comments,
    from kept
    inner join clustered_members() as clustered
        on clustered.author = kept.author
        and clustered.scope = member_scope(kept.subreddit, $scope)
    group by clustered.level
),

final as (
    select
        levels.level,
        (select count(*) from kept) as kept_comments,
        coalesce(covered.covered_comments, 0) as covered_comments,
        coalesce(covered.covered_comments, 0) / greatest((select count(*) from kept), 1)
            as coverage,
    from levels
    left join covered on covered.level = levels.level
    order by levels.level
)

select * from final
