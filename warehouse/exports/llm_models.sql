-- The LLMs that wrote the profiles a release ships (its manifest's models.llm).
with

final as (
    select distinct model,
    from profiles
    where profile_method = 'llm' and model is not null
    order by model
)

select * from final
