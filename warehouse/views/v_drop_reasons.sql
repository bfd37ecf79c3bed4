with

reasons as (
    select 'stg_submissions' as table_name, drop_reason, from stg_submissions
    union all
    select 'stg_comments' as table_name, drop_reason, from stg_comments
),

counted as (
    select
        table_name,
        drop_reason,
        count(*) as rows,
    from reasons
    group by all
),

final as (
    select
        table_name,
        drop_reason,
        rows,
        rows / sum(rows) over (partition by table_name) as share,
    from counted
    order by table_name, drop_reason nulls first
)

select * from final
