-- The dump files a release was built from, with their content key and progress (manifest).
with

final as (
    select source_file as file, file_key, lines_done as lines, completed,
    from ingest_files
    order by all
)

select * from final
