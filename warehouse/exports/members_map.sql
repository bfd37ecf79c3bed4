-- Member vectors with their community (null = noise), for the release's members map plot.
with

final as (
    select members.vector, memberships.community_id,
    from members
    inner join memberships
        on memberships.member_id = members.member_id
        and memberships.scope = members.scope
        and memberships.level = 'sub'
    order by members.member_id
)

select * from final
