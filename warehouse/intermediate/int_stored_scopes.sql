-- Each clustered scope's stored fingerprint, and whether its stored rows are all still there
-- (a scope is reused unchanged only when both hold).
with

communities_per_scope as (
    select scope, count(*) as n, from communities group by scope
),

members_per_scope as (
    select scope, count(*) as n, from memberships group by scope
),

final as (
    select
        scopes.scope,
        scopes.fingerprint,
        scopes.clustered_at,
        scopes.communities = coalesce(communities_per_scope.n, 0)
            and scopes.members = coalesce(members_per_scope.n, 0) as complete,
    from community_scopes as scopes
    left join communities_per_scope on communities_per_scope.scope = scopes.scope
    left join members_per_scope on members_per_scope.scope = scopes.scope
    order by scopes.scope
)

select * from final
