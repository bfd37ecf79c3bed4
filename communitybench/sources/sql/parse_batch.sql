-- Parse one registered batch of NDJSON lines (_batch: line_no, line) into typed fields plus a
-- quarantine reason. Pushshift and Arctic Shift variants: string or number created_utc, id or
-- only a fullname (name), retrieved_on / retrieved_utc / _meta.retrieved_2nd_on.
create or replace temp table _parsed as
with

-- a JSON array written one record per line ("[{..},\n{..},\n{..}]") reads like NDJSON
unwrapped as (
    select
        line_no,
        case when getvariable('array_lines') then rtrim(ltrim(line, '[ '), '], ') else line end
            as line,
    from _batch
),

screened as (
    select line_no, line, json_valid(line) as valid,
    from unwrapped
),

objects as (
    select
        line_no,
        line,
        valid,
        valid and left(ltrim(line), 1) = '{' as is_object,
    from screened
),

fields as (
    select
        line_no,
        line,
        valid,
        is_object,
        case when is_object then json_extract_string(line, [
            '$.id', '$.name', '$.link_id', '$.parent_id', '$.subreddit', '$.author',
            '$.body', '$.title', '$.selftext', '$.score', '$.ups', '$.downs',
            '$.created_utc', '$.retrieved_on', '$.retrieved_utc', '$._meta.retrieved_2nd_on',
            '$.distinguished', '$.stickied', '$.num_comments', '$.upvote_ratio', '$.url'
        ]) end as v,
        case when is_object then json_type(line, [
            '$.id', '$.subreddit', '$.author', '$.body', '$.title', '$.selftext', '$.score',
            '$.created_utc', '$.stickied', '$.num_comments', '$.distinguished'
        ]) end as t,
    from objects
),

typed as (
    select
        line_no,
        line,
        valid,
        is_object,
        t,
        coalesce(v[1], regexp_extract(v[2], '^t[0-9]_(.+)$', 1)) as id,
        regexp_replace(v[3], '^t3_', '') as link_id,
        v[4] as parent_id,
        v[5] as subreddit,
        v[6] as author,
        v[7] as body,
        v[8] as title,
        v[9] as selftext,
        try_cast(v[10] as double) as score_num,
        v[10] as score_raw,
        try_cast(try_cast(v[11] as double) as bigint) as ups,
        try_cast(try_cast(v[12] as double) as bigint) as downs,
        try_cast(v[13] as double) as created_num,
        v[13] as created_raw,
        coalesce(
            try_cast(v[14] as double), try_cast(v[15] as double), try_cast(v[16] as double)
        ) as retrieved_num,
        v[17] as distinguished,
        try_cast(v[18] as boolean) as stickied,
        try_cast(try_cast(v[19] as double) as bigint) as num_comments,
        try_cast(v[20] as double) as upvote_ratio,
        v[21] as url,
        case
            when v[3] is not null or t[4] is not null then 'comment'
            when t[5] is not null then 'submission'
        end as kind,
    from fields
),

final as (
    select
        *,
        case
            when not valid then 'invalid_json'
            when not is_object then 'not_an_object'
            when id is null or id = '' then 'missing_id'
            when t[1] not in ('VARCHAR', 'BIGINT', 'UBIGINT') then 'bad_type:id'
            when kind is null then 'unknown_record_kind'
            when subreddit is null or subreddit = '' then 'missing_subreddit'
            when t[2] <> 'VARCHAR' then 'bad_type:subreddit'
            when created_raw is null then 'missing_created_utc'
            when created_num is null then 'bad_type:created_utc'
            when t[3] not in ('VARCHAR', 'NULL') then 'bad_type:author'
            when kind = 'comment' and t[4] not in ('VARCHAR', 'NULL') then 'bad_type:body'
            when kind = 'submission' and t[5] <> 'VARCHAR' then 'bad_type:title'
            when t[6] not in ('VARCHAR', 'NULL') then 'bad_type:selftext'
            when score_raw is not null and score_num is null then 'bad_type:score'
            when t[9] not in ('BOOLEAN', 'NULL') then 'bad_type:stickied'
            when t[10] in ('OBJECT', 'ARRAY', 'BOOLEAN') then 'bad_type:num_comments'
            when t[11] not in ('VARCHAR', 'NULL') then 'bad_type:distinguished'
        end as reason,
        make_timestamp(cast(created_num * 1e6 as bigint)) as created_utc,
    from typed
)

select * from final
