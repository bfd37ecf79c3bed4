-- The embedding ($model, $revision) of each query in $query_ids (near-duplicate queries must not
-- straddle splits).
with

wanted as (
    select unnest($query_ids::varchar[]) as item_id
),

final as (
    select texts.item_id, vectors.vector,
    from texts
    inner join wanted on wanted.item_id = texts.item_id
    inner join model_vectors($model, $revision) as vectors
        on vectors.text_hash = texts.text_hash
)

select * from final
