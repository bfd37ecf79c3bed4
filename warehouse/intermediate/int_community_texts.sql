-- The kept texts of every clustered member, by community, with their embedding ($model,
-- $revision; null when missing) in the configured scope ($scope): what profiles are written from.
with

vectors as (
    select * from model_vectors($model, $revision)
),

final as (
    select
        clustered.community_id,
        texts.item_id,
        texts.subreddit,
        texts.clean_text,
        vectors.vector,
    from texts
    inner join clustered_members() as clustered
        on clustered.author = texts.author
        and clustered.scope = member_scope(texts.subreddit, $scope)
    left join vectors on vectors.text_hash = texts.text_hash
    order by clustered.community_id, texts.item_id
)

select * from final
