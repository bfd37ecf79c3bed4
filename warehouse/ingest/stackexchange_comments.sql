-- Append a batch's Stack Exchange comments (_se_rows) under the post they comment on (_se_posts):
-- thread = its question, parent = the question (t3_) or the answer (t1_). Comments on posts the
-- warehouse does not hold (tag wikis, filtered posts) are not inserted (the ingest counts them).
insert into raw_comments by name
select
    batch.obs_id,
    batch.id,
    posts.link_id,
    posts.parent_id,
    batch.subreddit,
    batch.author,
    batch.body,
    batch.score,
    batch.ups,
    batch.downs,
    batch.created_utc,
    null as distinguished,
    batch.stickied,
    batch.status,
    getvariable('retrieved_at') as retrieved_at,
    batch.source,
    'Comments.xml' as source_file,
    batch.source_line,
    getvariable('run_id') as ingest_run_id,
from _se_rows as batch
inner join _se_posts as posts on posts.id = batch.post_ref
