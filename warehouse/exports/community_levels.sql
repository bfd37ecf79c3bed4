-- Per community level: communities found and published, their median size and stability, and
-- coverage (the share of kept comments written by members of a published community of the
-- level): the card's levels table. A member's scope is its comment's subreddit or 'global'.
with

kept as (
    select id, author, subreddit, from stg_comments where drop_reason is null
),

published_members as (
    select distinct members.author, members.scope, memberships.level,
    from members
    inner join memberships
        on memberships.member_id = members.member_id and memberships.scope = members.scope
    where memberships.community_id is not null
),

covered as (
    select published_members.level, count(distinct kept.id) as comments,
    from kept
    inner join published_members
        on published_members.author = kept.author
        and published_members.scope in (kept.subreddit, 'global')
    group by all
),

per_level as (
    select
        level,
        count(*) as found,
        count(*) filter (where published) as published,
        median(size) filter (where published) as median_size,
        median(stability) filter (where published) as median_stability,
    from communities
    group by all
),

final as (
    select
        per_level.*,
        coalesce(covered.comments, 0) / greatest((select count(*) from kept), 1) as coverage,
    from per_level
    left join covered on covered.level = per_level.level
    order by per_level.level
)

select * from final
