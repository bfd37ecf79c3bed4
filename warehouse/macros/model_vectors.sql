-- model_vectors(model, revision): the cached embedding of each text hash for one model
-- revision. A temp macro: created per connection, never stored in the warehouse; the cache's
-- name is a parameter so that query_table binds it when a model runs (it may not exist yet).
create or replace temp macro model_vectors(model_name, model_revision, cache := 'embeddings')
as table
select text_hash, vector,
from query_table(cache)
where model = model_name and revision = model_revision;
