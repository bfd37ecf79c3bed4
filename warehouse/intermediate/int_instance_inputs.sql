-- One row per option set with what every task instance is built from: the query (thread), the
-- options' texts in option order, and the community's distribution over them.
with

options as (
    select
        option_set_id,
        unnest(option_ids) as option_id,
        generate_subscripts(option_ids, 1) as position,
    from option_sets
),

bodies as (
    select options.option_set_id, list(stg_comments.body order by options.position) as option_texts,
    from options
    inner join stg_comments on 't1_' || stg_comments.id = options.option_id
    group by options.option_set_id
),

final as (
    select
        option_sets.option_set_id,
        option_sets.thread_id,
        option_sets.community_id,
        option_sets.level,
        option_sets.subreddit,
        option_sets.option_ids,
        bodies.option_texts,
        distributions.distribution,
        distributions.estimator,
        distributions.label,
        distributions.margin,
        distributions.label_robust,
        distributions.degenerate,
        stg_submissions.title as query_title,
        stg_submissions.selftext as query_body,
    from option_sets
    inner join distributions on distributions.option_set_id = option_sets.option_set_id
    inner join bodies on bodies.option_set_id = option_sets.option_set_id
    inner join stg_submissions on stg_submissions.id = option_sets.thread_id
    order by option_sets.level, option_sets.thread_id
)

select * from final
