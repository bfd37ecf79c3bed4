-- Quarantine the batch's unusable lines with their reason; return counts per reason.
insert into quarantine by name
select
    getvariable('file_key') as source_file_key,
    getvariable('source_path') as source_file,
    _parsed.line_no as source_line,
    reason,
    left(rtrim(_batch.line, chr(10) || chr(13)), 2000) as raw_text,
    strlen(rtrim(_batch.line, chr(10) || chr(13))) as line_bytes,
    getvariable('run_id') as ingest_run_id,
from _parsed
inner join _batch using (line_no)
where reason is not null;

select reason, count(*) from _parsed where reason is not null group by reason order by reason
