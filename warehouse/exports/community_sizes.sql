-- Members per community, smallest first: the card's size statistics and the sizes plot.
with

final as (
    select size, from communities where published and level = 'sub' order by size
)

select * from final
