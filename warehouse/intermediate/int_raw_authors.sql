-- Every author name in the raw observations (takedown lists match them by name or pseudonym).
with

authors as (
    select author, from raw_comments where author is not null
    union
    select author, from raw_submissions where author is not null
),

final as (
    select author, from authors order by author
)

select * from final
