-- Append a batch's Stack Exchange answers (_se_rows, kind 'comment') as top-level replies with
-- their up and down votes from Votes.xml (null without it); the accepted answer of its question
-- (_se_accepted) is marked distinguished = 'accepted', metadata only.
insert into raw_comments by name
select
    batch.obs_id,
    batch.id,
    batch.link_id,
    batch.parent_id,
    batch.subreddit,
    batch.author,
    batch.body,
    batch.score,
    case when getvariable('se_votes') then coalesce(votes.ups, 0) end as ups,
    case when getvariable('se_votes') then coalesce(votes.downs, 0) end as downs,
    batch.created_utc,
    case when accepted.post_number is not null then 'accepted' end as distinguished,
    batch.stickied,
    batch.status,
    getvariable('retrieved_at') as retrieved_at,
    batch.source,
    'Posts.xml' as source_file,
    batch.source_line,
    getvariable('run_id') as ingest_run_id,
from _se_rows as batch
left join _se_votes as votes on votes.post_number = batch.post_number
left join (select distinct post_number from _se_accepted) as accepted
    on accepted.post_number = batch.post_number
where batch.kind = 'comment'
