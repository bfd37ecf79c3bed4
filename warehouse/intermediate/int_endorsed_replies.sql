-- Kept top-level replies with a positive score in threads that have an option set: the
-- candidates for CCG references (a community's most-endorsed replies).
with

threads as (
    select distinct thread_id, from option_sets
),

final as (
    select
        stg_comments.link_id as thread_id,
        't1_' || stg_comments.id as option_id,
        stg_comments.body,
        stg_comments.score,
    from stg_comments
    inner join threads on threads.thread_id = stg_comments.link_id
    where stg_comments.drop_reason is null and stg_comments.is_top_level and stg_comments.score > 0
)

select * from final
