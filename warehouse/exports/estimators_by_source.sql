-- Option sets per source and estimator: which estimator produced each source's distributions
-- (beta_updown on real up and down votes, dirichlet_score on scores only), and how many of
-- them carry signal (not degenerate).
with

threads as (
    select distinct id, source,
    from stg_submissions
),

final as (
    select
        coalesce(threads.source, 'unknown') as source,
        distributions.estimator,
        count(*) as option_sets,
        count(*) filter (where not distributions.degenerate) as usable,
    from distributions
    left join threads on threads.id = distributions.thread_id
    group by all
)

select * from final order by source, estimator
