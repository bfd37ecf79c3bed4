-- A select that parses one registered batch of NDJSON lines (_batch: line_no, line) into typed fields plus a
-- quarantine reason. Pushshift and Arctic Shift variants: string or number created_utc, id or
-- only a fullname (name), retrieved_on / retrieved_utc / _meta.retrieved_2nd_on.
-- Speed: one JSON parse per line (json_transform). json_valid (a second parse) runs only when the caller asks for
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
    -- json_transform: one parse per line into a struct of VARCHARs (~25% faster than
    -- json_extract_string over a list of paths, same values: numbers and booleans as their
    -- text, an object or array as its JSON, a missing key or JSON null as NULL)
    select
        line_no,
        line,
        valid,
        valid and left(ltrim(line), 1) = '{' as is_object,
        case when valid and left(ltrim(line), 1) = '{' then json_transform(line, '{
            "id": "VARCHAR", "name": "VARCHAR", "link_id": "VARCHAR", "parent_id": "VARCHAR",
            "subreddit": "VARCHAR", "author": "VARCHAR", "body": "VARCHAR", "title": "VARCHAR",
            "selftext": "VARCHAR", "score": "VARCHAR", "ups": "VARCHAR", "downs": "VARCHAR",
            "created_utc": "VARCHAR", "retrieved_on": "VARCHAR", "retrieved_utc": "VARCHAR",
            "_meta": {"retrieved_2nd_on": "VARCHAR"}, "distinguished": "VARCHAR",
            "stickied": "VARCHAR", "num_comments": "VARCHAR", "upvote_ratio": "VARCHAR",
            "url": "VARCHAR"
        }') end as j,
    from screened
),

typed as (
    select
        line_no,
        valid,
        is_object,
        -- string functions, not regexps: this select runs once per dump line
        case
            when j.id is not null then j.id
            when j.name like 't_\_%' escape '\' then substr(j.name, 4)
        end as id,
        case
            when starts_with(j.link_id, 't3_') then substr(j.link_id, 4) else j.link_id
        end as link_id,
        j.parent_id as parent_id,
        j.subreddit as subreddit,
        j.author as author,
        j.body as body,
        j.title as title,
        j.selftext as selftext,
        try_cast(j.score as double) as score_num,
        j.score as score_raw,
        try_cast(try_cast(j.ups as double) as bigint) as ups,
        try_cast(try_cast(j.downs as double) as bigint) as downs,
        try_cast(j.created_utc as double) as created_num,
        j.created_utc as created_raw,
        coalesce(
            try_cast(j.retrieved_on as double),
            try_cast(j.retrieved_utc as double),
            try_cast(j._meta.retrieved_2nd_on as double)
        ) as retrieved_num,
        j.distinguished as distinguished,
        try_cast(j.stickied as boolean) as stickied,
        j.stickied as stickied_raw,
        try_cast(try_cast(j.num_comments as double) as bigint) as num_comments,
        j.num_comments as num_comments_raw,
        try_cast(j.upvote_ratio as double) as upvote_ratio,
        j.url as url,
        -- a text field holding an object or array is a type error (checked only when suspicious)
        case when left(j.body, 1) in ('{', '[') then json_type(line, '$.body') end as body_type,
        case when left(j.title, 1) in ('{', '[') then json_type(line, '$.title') end as title_type,
        case
            when j.link_id is not null or j.body is not null then 'comment'
            when j.title is not null then 'submission'
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
