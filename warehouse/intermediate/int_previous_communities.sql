-- The published sub-communities of the build in the warehouse, with their members (forum
-- communities keep an id hashed from their scope and are never matched): what a rebuild matches its
-- new communities against (stable ids) and what an unchanged scope keeps.
with

members as (
    select community_id, list(member_id order by member_id) as member_ids,
    from memberships
    where community_id is not null and level = 'sub'
    group by community_id
),

final as (
    select
        communities.community_id,
        communities.scope,
        communities.centroid,
        coalesce(members.member_ids, []::varchar[]) as member_ids,
    from communities
    left join members on members.community_id = communities.community_id
    where communities.level = 'sub' and communities.published
    order by communities.community_id
)

select * from final
