-- latest_observations(raw_table): one row per item of an append-only raw observation table
-- (raw_comments, raw_submissions), shaped like the item's latest observation, with what the
-- item's history of observations says replacing three of its columns:
--   - status: the last non-ok status ever observed, else 'ok' (deletions are irreversible on
--     Reddit: a later 'ok' copy from a stale mirror does not undo one);
--   - author: the author of the latest observation that still had content (a later
--     '[deleted]' observation never erases who wrote it);
--   - created_utc: the earliest observed;
-- plus n_observations, first_retrieved_at and last_retrieved_at. The latest observation is the
-- last retrieved, then the later line of its file, then the larger obs_id. Text columns are
-- each model's own (body; title and selftext): it takes them from its latest 'ok' observation.
-- A temp macro: created per connection (read-only ones too), never stored in the warehouse.
create or replace temp macro latest_observations(raw_table) as table
with

observations as (
    select
        *,
        row_number() over (
            partition by id order by retrieved_at desc, source_line desc nulls last, obs_id desc
        ) as recency,
    from query_table(raw_table)
),

history as (
    select
        id,
        count(*) as n_observations,
        min(retrieved_at) as first_retrieved_at,
        max(retrieved_at) as last_retrieved_at,
        min(created_utc) as created_utc,
        arg_max(status, retrieved_at) filter (where status <> 'ok') as last_gone_status,
        arg_max(nullif(author, '[deleted]'), retrieved_at) filter (where status = 'ok')
            as content_author,
    from observations
    group by id
),

final as (
    select
        observations.* exclude (recency) replace (
            history.created_utc as created_utc,
            coalesce(history.last_gone_status, 'ok') as status,
            history.content_author as author
        ),
        history.n_observations,
        history.first_retrieved_at,
        history.last_retrieved_at,
    from observations
    inner join history on history.id = observations.id
    where observations.recency = 1
)

select * from final
