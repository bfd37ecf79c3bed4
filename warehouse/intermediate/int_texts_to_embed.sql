-- Distinct non-empty cleaned texts with no cached vector for ($model, $revision), longest first
-- (the embeddings stage encodes them in chunks of similar length).
with

cached as (
    select text_hash, from model_vectors($model, $revision)
),

missing as (
    select text_hash, any_value(clean_text) as clean_text,
    from texts
    where clean_text <> '' and text_hash not in (select text_hash from cached)
    group by text_hash
),

final as (
    select text_hash, clean_text,
    from missing
    order by length(clean_text) desc, text_hash
)

select * from final
