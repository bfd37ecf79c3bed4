with

-- dump and Stack Exchange observations are keyed '<first 16 hex chars of file_key>:<line>'
loaded as (
    select
        obs_id[:16] as key_prefix,
        count(*) filter (where kind = 'submission') as submissions_loaded,
        count(*) filter (where kind = 'comment') as comments_loaded,
    from (
        select obs_id, 'submission' as kind, from raw_submissions
        where source in ('dump', 'stackexchange')
        union all
        select obs_id, 'comment' as kind, from raw_comments
        where source in ('dump', 'stackexchange', 'stackexchange_comment')
    )
    group by all
),

reasons as (
    select
        source_file_key,
        reason,
        count(*) as n,
    from quarantine
    group by all
),

quarantined as (
    select
        source_file_key,
        cast(sum(n) as bigint) as quarantined,
        map(list(reason order by reason), list(n order by reason)) as quarantine_reasons,
    from reasons
    group by all
),

final as (
    select
        ingest_files.source_file,
        ingest_files.file_key,
        ingest_files.completed,
        ingest_files.lines_done as lines,
        coalesce(loaded.submissions_loaded, 0) as submissions_loaded,
        coalesce(loaded.comments_loaded, 0) as comments_loaded,
        ingest_files.lines_done
        - coalesce(loaded.submissions_loaded, 0)
        - coalesce(loaded.comments_loaded, 0)
        - coalesce(quarantined.quarantined, 0) as filtered,
        coalesce(quarantined.quarantined, 0) as quarantined,
        coalesce(
            quarantined.quarantine_reasons, cast(map() as map(varchar, bigint))
        ) as quarantine_reasons,
        ingest_files.updated_at,
    from ingest_files
    left join loaded on loaded.key_prefix = ingest_files.file_key[:16]
    left join quarantined on quarantined.source_file_key = ingest_files.file_key
    order by ingest_files.source_file, ingest_files.file_key
)

select * from final
