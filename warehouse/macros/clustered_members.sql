-- clustered_members(): every member that belongs to a community (noise left out), with its
-- author and scope; member_scope(subreddit, scope_setting) is the scope a text of that subreddit
-- counts in ('global' with [communities] scope = "global", else the subreddit). Models join a
-- text to its author's community with:
--   inner join clustered_members() as m
--       on m.author = x.author and m.scope = member_scope(x.subreddit, $scope)
-- A member has one row per level ('forum', 'sub') it is clustered at: join on level too when
-- comparing two members' communities.
-- Temp macros: created per connection (read-only ones too), never stored in the warehouse. The
-- table names are parameters so that query_table binds them when a model runs, not here (the
-- macros are created before the tables exist).
create or replace temp macro member_scope(subreddit, scope_setting) as
    case when scope_setting = 'global' then 'global' else subreddit end;

create or replace temp macro clustered_members(
    members_table := 'members', memberships_table := 'memberships'
) as table
select
    members.author, members.scope, members.member_id, memberships.level, memberships.community_id,
from query_table(members_table) as members
inner join query_table(memberships_table) as memberships
    on memberships.member_id = members.member_id
    and memberships.scope = members.scope
where memberships.community_id is not null;
