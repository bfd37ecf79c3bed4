-- Quarantine the batch's unusable lines with their reason; return counts per reason.
insert into quarantine by name
select
    getvariable('file_key') as source_file_key,
    getvariable('source_path') as source_file,
    line_no as source_line,
    reason,
    left(line, 2000) as raw_text,
    strlen(line) as line_bytes,
    getvariable('run_id') as ingest_run_id,
from _parsed
where reason is not null;

select reason, count(*) from _parsed where reason is not null group by reason order by reason
