-- Members clustered and how many of them are noise (no community): the card's noise share.
with

final as (
    select
        count(*) as members,
        count(*) filter (where community_id is null) as noise,
    from memberships
    where level = 'sub'
)

select * from final
