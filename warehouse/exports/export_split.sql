-- The rows of one task split as a release publishes them: the task table's columns (its
-- contract, schemas/marts/task_<task>.toml) plus the split, by instance id.
-- Variables: export_table (task_pi, ...), export_task (pi, ...), export_split (train, dev, test).
with

final as (
    select instances.*, splits.split,
    from query_table(getvariable('export_table')) as instances
    inner join instance_splits as splits
        on splits.task = getvariable('export_task')
        and splits.instance_id = instances.instance_id
    where splits.split = getvariable('export_split')
    order by instances.instance_id
)

select * from final
