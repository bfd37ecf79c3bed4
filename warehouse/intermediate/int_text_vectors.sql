-- Each authored text with its cached vector for ($model, $revision): the members stage averages
-- them per (author, scope).
with

vectors as (
    select * from model_vectors($model, $revision)
),

final as (
    select texts.author, texts.subreddit, vectors.vector,
    from texts
    inner join vectors on vectors.text_hash = texts.text_hash
    where texts.author is not null
    order by texts.item_id
)

select * from final
