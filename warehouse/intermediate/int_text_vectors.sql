-- Each authored text with its cached vector for ($model, $revision) and its member scope
-- ($scope: 'subreddit' -> the text's subreddit, 'global' -> 'global'): the members stage counts
-- texts per (author, scope), then streams the vectors of members' texts in batches. No order:
-- the stage sums per member, and sorting every vector would hold them all.
with

vectors as (
    select * from model_vectors($model, $revision)
),

final as (
    select
        texts.author,
        case when $scope = 'global' then 'global' else texts.subreddit end as scope,
        vectors.vector,
    from texts
    inner join vectors on vectors.text_hash = texts.text_hash
    where texts.author is not null
)

select * from final
