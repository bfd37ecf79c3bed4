-- `.schema NAME` in the SQL shell: columns, types and descriptions of one table or view ($name).
select column_name as column, data_type as type, comment as description,
from duckdb_columns()
where table_name = $name
order by column_index
