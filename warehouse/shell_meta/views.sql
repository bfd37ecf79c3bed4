-- `.views` in the SQL shell: the documented analyst views and what they hold.
select view_name as view, comment as description,
from duckdb_views()
where view_name like 'v\_%' escape '\'
order by view_name
