-- The kept texts of every clustered member, by community, with their embedding ($model,
-- $revision; null when missing) in the configured scope ($scope): what profiles are written from.
with

vectors as (
    select text_hash, vector,
    from embeddings
    where model = $model and revision = $revision
),

final as (
    select
        memberships.community_id,
        texts.item_id,
        texts.subreddit,
        texts.clean_text,
        vectors.vector,
    from texts
    inner join members
        on members.author = texts.author
        and members.scope = case when $scope = 'global' then 'global' else texts.subreddit end
    inner join memberships
        on memberships.member_id = members.member_id
        and memberships.scope = members.scope
        and memberships.community_id is not null
    left join vectors on vectors.text_hash = texts.text_hash
    order by memberships.community_id, texts.item_id
)

select * from final
