-- Every DP instance's distribution over its options: the option distributions plot.
with

final as (
    select distribution, from task_dp order by instance_id
)

select * from final
