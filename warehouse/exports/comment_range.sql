-- When the kept comments a release was built from were written (manifest sources).
with

final as (
    select
        min(created_utc) as first_created,
        max(created_utc) as last_created,
    from stg_comments
    where drop_reason is null
)

select * from final
