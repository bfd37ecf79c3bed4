-- `.tables` in the SQL shell: every table (with its estimated row count) and view.
with

tables as (
    select table_name as name, 'table' as type, estimated_size as rows,
    from duckdb_tables()
    where not internal
),

views as (
    select view_name as name, 'view' as type, null::bigint as rows,
    from duckdb_views()
    where not internal
),

final as (
    select * from tables
    union all
    select * from views
    order by type, name
)

select * from final
