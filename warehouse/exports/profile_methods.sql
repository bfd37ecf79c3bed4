-- Profiles per method (llm, extractive): the card's profile line.
with

final as (
    select profile_method, count(*) as profiles,
    from profiles
    group by all
    order by profile_method
)

select * from final
