-- Up and down votes per post of one Stack Exchange site (Votes.xml rows in _se_vote_rows:
-- post_number, up), for the posts batches to join.
create or replace temp table _se_votes as
select
    post_number,
    count(*) filter (where up) as ups,
    count(*) filter (where not up) as downs,
from _se_vote_rows
group by post_number
