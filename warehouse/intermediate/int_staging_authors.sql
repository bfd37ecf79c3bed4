-- Every author name in the staging tables: profiles scrub them, the release gate fails any
-- exported value that equals one.
with

authors as (
    select author, from stg_comments where author is not null
    union
    select author, from stg_submissions where author is not null
),

final as (
    select author, from authors order by author
)

select * from final
