-- Every option of every PI and DP instance in the test split, with what community-blind
-- baselines look at (the shortcut audit): text, posting time, delay after the submission, rank,
-- expected exposure, sentiment and embedding ($model, $revision), the query's embedding, and the
-- instance's label (PI: its label; DP: the argmax of its distribution, first on ties).
with

instances as (
    select
        'pi' as task, instance_id, thread_id, community_id, query_id, option_ids, label,
    from task_pi
    union all
    select
        'dp' as task, instance_id, thread_id, community_id, query_id, option_ids,
        list_position(distribution, list_max(distribution)) - 1 as label,
    from task_dp
),

tested as (
    select instances.*,
    from instances
    inner join instance_splits as splits
        on splits.task = instances.task and splits.instance_id = instances.instance_id
    where splits.split = 'test'
),

options as (
    select
        tested.task,
        tested.instance_id,
        tested.query_id,
        tested.label,
        len(tested.option_ids) as k,
        unnest(tested.option_ids) as option_id,
        generate_subscripts(tested.option_ids, 1) as position,
        sets.delay_s,
        sets.reply_rank,
        sets.expected_exposure,
        sets.sentiment,
    from tested
    inner join option_sets as sets
        on sets.thread_id = tested.thread_id
        and sets.community_id = tested.community_id
        and sets.option_ids = tested.option_ids
),

vectors as (
    select texts.item_id, vectors.vector,
    from texts
    inner join model_vectors($model, $revision) as vectors
        on vectors.text_hash = texts.text_hash
),

final as (
    select
        options.task,
        options.instance_id,
        options.label,
        options.k,
        options.position - 1 as position,
        options.option_id,
        comments.body as text,
        epoch(comments.created_utc) as created_utc,
        options.delay_s[options.position] as delay_s,
        options.reply_rank[options.position] as reply_rank,
        options.expected_exposure[options.position] as expected_exposure,
        options.sentiment[options.position] as sentiment,
        option_vectors.vector,
        query_vectors.vector as query_vector,
    from options
    inner join stg_comments as comments on 't1_' || comments.id = options.option_id
    left join vectors as option_vectors on option_vectors.item_id = options.option_id
    left join vectors as query_vectors on query_vectors.item_id = options.query_id
    order by options.task, options.instance_id, options.position
)

select * from final
