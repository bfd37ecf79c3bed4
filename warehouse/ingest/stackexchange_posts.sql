-- The questions and answers of one Stack Exchange site (ids starting with $se_prefix) already in
-- the raw tables: the thread and the parent fullname a comment on each of them gets.
create or replace temp table _se_posts as
select
    id,
    id as link_id,
    't3_' || id as parent_id,
    max(retrieved_at) as retrieved_at,
from raw_submissions
where source = 'stackexchange' and starts_with(id, getvariable('se_prefix'))
group by id
union all
select
    id,
    any_value(link_id) as link_id,
    't1_' || id as parent_id,
    max(retrieved_at) as retrieved_at,
from raw_comments
where source = 'stackexchange' and starts_with(id, getvariable('se_prefix'))
group by id
