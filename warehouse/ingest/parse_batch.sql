-- A select that parses one registered batch of NDJSON lines (_batch: line_no, line) into typed fields plus a
-- quarantine reason. Pushshift and Arctic Shift variants: string or number created_utc, id or
-- only a fullname (name), retrieved_on / retrieved_utc / _meta.retrieved_2nd_on.
-- Speed: one JSON parse per line. json_valid (a second parse) runs only when the caller asks for
-- it (getvariable('validate')), i.e. after an optimistic pass hit malformed JSON.
with

-- a JSON array written one record per line ("[{..},\n{..},\n{..}]") reads like NDJSON
unwrapped as (
    select
        line_no,
        case
            when getvariable('array_lines')
                then rtrim(ltrim(line, '[ ' || chr(9)), '], ' || chr(9) || chr(10) || chr(13))
            else line
        end as line,
    from _batch
),

screened as (
    select
        *,
        case when getvariable('validate') then json_valid(line) else true end as valid,
    from unwrapped
),

fields as (
    select
        line_no,
        line,
        valid,
        valid and left(ltrim(line), 1) = '{' as is_object,
        case when valid and left(ltrim(line), 1) = '{' then json_extract_string(line, [
            '$.id', '$.name', '$.link_id', '$.parent_id', '$.subreddit', '$.author',
            '$.body', '$.title', '$.selftext', '$.score', '$.ups', '$.downs',
            '$.created_utc', '$.retrieved_on', '$.retrieved_utc', '$._meta.retrieved_2nd_on',
            '$.distinguished', '$.stickied', '$.num_comments', '$.upvote_ratio', '$.url'
        ]) end as v,
    from screened
),

typed as (
    select
        line_no,
        valid,
        is_object,
        -- string functions, not regexps: this select runs once per dump line
        case
            when v[1] is not null then v[1]
            when v[2] like 't_\_%' escape '\' then substr(v[2], 4)
        end as id,
        case when starts_with(v[3], 't3_') then substr(v[3], 4) else v[3] end as link_id,
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
        v[18] as stickied_raw,
        try_cast(try_cast(v[19] as double) as bigint) as num_comments,
        v[19] as num_comments_raw,
        try_cast(v[20] as double) as upvote_ratio,
        v[21] as url,
        -- a text field holding an object or array is a type error (checked only when suspicious)
        case when left(v[7], 1) in ('{', '[') then json_type(line, '$.body') end as body_type,
        case when left(v[8], 1) in ('{', '[') then json_type(line, '$.title') end as title_type,
        case
            when v[3] is not null or v[7] is not null then 'comment'
            when v[8] is not null then 'submission'
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
            when kind is null then 'unknown_record_kind'
            when subreddit is null or subreddit = '' then 'missing_subreddit'
            when created_raw is null then 'missing_created_utc'
            when created_num is null then 'bad_type:created_utc'
            when kind = 'comment' and body_type in ('OBJECT', 'ARRAY') then 'bad_type:body'
            when kind = 'submission' and title_type in ('OBJECT', 'ARRAY') then 'bad_type:title'
            when score_raw is not null and score_num is null then 'bad_type:score'
            when stickied_raw is not null and stickied is null then 'bad_type:stickied'
            when num_comments_raw is not null and num_comments is null
                then 'bad_type:num_comments'
        end as reason,
        make_timestamp(cast(created_num * 1e6 as bigint)) as created_utc,
    from typed
)

select * from final
