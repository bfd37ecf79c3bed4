-- Append a batch's Stack Exchange questions (_se_rows, kind 'submission') with their up and down
-- votes from Votes.xml (null when the dump has no Votes.xml: score only).
insert into raw_submissions by name
select
    batch.obs_id,
    batch.id,
    batch.subreddit,
    batch.author,
    batch.title,
    batch.selftext,
    batch.score,
    case when getvariable('se_votes') then coalesce(votes.ups, 0) end as ups,
    case when getvariable('se_votes') then coalesce(votes.downs, 0) end as downs,
    batch.num_comments,
    null as upvote_ratio,
    batch.created_utc,
    null as distinguished,
    batch.stickied,
    batch.url,
    batch.status,
    getvariable('retrieved_at') as retrieved_at,
    batch.source,
    'Posts.xml' as source_file,
    batch.source_line,
    getvariable('run_id') as ingest_run_id,
from _se_rows as batch
left join _se_votes as votes on votes.post_number = batch.post_number
where batch.kind = 'submission'
