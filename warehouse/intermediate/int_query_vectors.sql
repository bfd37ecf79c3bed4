-- The embedding ($model, $revision) of each query in $query_ids (near-duplicate queries must not
-- straddle splits).
with

wanted as (
    select unnest($query_ids::varchar[]) as item_id
),

final as (
    select texts.item_id, embeddings.vector,
    from texts
    inner join wanted on wanted.item_id = texts.item_id
    inner join embeddings
        on embeddings.text_hash = texts.text_hash
        and embeddings.model = $model
        and embeddings.revision = $revision
)

select * from final
