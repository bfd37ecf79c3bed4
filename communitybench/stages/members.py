"""Stage ``members``: authors with enough embedded texts in a scope → keyed pseudonyms + vectors.

Memory is bounded by the members, not the texts: texts are counted per (author, scope) in
DuckDB, then the vectors of members' texts are streamed in batches of ``STREAM_ROWS`` and summed
per member (``VectorMeans``); a month of 10M comments never holds its text vectors at once.

``member_id`` = HMAC-SHA256(COMMUNITYBENCH_PSEUDONYM_KEY, author)[:16]; the key comes from the
environment at run time (never from the config, and never into Prefect's records). The public
development key is accepted for the synthetic demo forum only, with a warning.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import warehouse
from communitybench.config import CommunitiesConfig, EmbedConfig, MembersConfig, SourceConfig
from communitybench.settings import get_settings
from communitybench.stage import Stage, StageParams, StageResult, Table, Work
from transforms.members import MEMBERS_VERSION, VectorMeans, member_table
from transforms.vectors import vector_column, vectors_from_arrow

STREAM_ROWS = 65_536  # text vectors per batch (100 MB at 384 dimensions)


class Params(StageParams):
    embed: EmbedConfig
    members: MembersConfig
    communities: CommunitiesConfig  # its scope: per subreddit or global
    source: SourceConfig

    @property
    def allow_dev_key(self) -> bool:
        """The public development key is acceptable for the synthetic demo forum only."""
        return self.source.kind == "demo"


def run(con, params: Params) -> StageResult:
    """Rebuild ``members``: one mean vector per (author, scope) with >= min_texts texts."""
    key = get_settings().pseudonym_key_value(allow_dev_default=params.allow_dev_key)
    scope, min_texts = params.communities.scope, params.members.min_texts
    query = {"model": params.embed.model, "revision": params.embed.revision, "scope": scope}
    texts = warehouse.query(con, "int_text_vectors", query)
    counts = texts.aggregate("author, scope, count(*) as n_texts", "author, scope").pl()
    members = member_table(counts, min_texts=min_texts, key=key)
    vectors = _member_means(con, members, query)
    warehouse.replace_tables(
        con, {"members": members.to_arrow().append_column("vector", vector_column(vectors))}
    )
    authors = counts["author"].n_unique()
    per_scope = dict(members.group_by("scope").len().sort("scope").iter_rows())
    return StageResult(
        name="members",
        version=MEMBERS_VERSION,
        work=(
            Work("members", computed=members.height, note=f"scope {scope}, min_texts {min_texts}"),
        ),
        dropped={"too_few_texts": authors - members["author"].n_unique()},
        tables=(Table("members per scope", ("scope", "members"), tuple(per_scope.items())),),
        details={
            "scope": scope,
            "min_texts": min_texts,
            "texts": int(counts["n_texts"].sum()),
            "authors": authors,
            "members": members.height,
            "per_scope": per_scope,
        },
    )


def _member_means(con, members: pl.DataFrame, query: dict) -> np.ndarray:
    """Mean text vector per member (rows of ``members``), streamed from the warehouse."""
    index = members.select("author", "scope").with_row_index("member").to_arrow()
    con.register("_members_index", index)
    try:
        sql = f"""
            select i.member, t.vector
            from ({warehouse.model_sql("int_text_vectors")}) as t
            inner join _members_index as i on i.author = t.author and i.scope = t.scope
        """
        reader = con.sql(sql, params=query).fetch_arrow_reader(STREAM_ROWS)
        means = None
        for batch in reader:
            vectors = vectors_from_arrow(batch.column("vector"))
            if means is None:
                means = VectorMeans(members.height, vectors.shape[1])
            means.add(batch.column("member").to_numpy().astype(np.int64), vectors)
    finally:
        con.unregister("_members_index")
    return means.means() if means else np.zeros((0, 0), dtype=np.float32)


def carried_work(con) -> tuple[Work, ...]:
    return (Work("members", reused=warehouse.row_count(con, "members")),)


STAGE = Stage(
    name="members",
    version=MEMBERS_VERSION,
    params=Params,
    run=run,
    doc="keyed pseudonyms and mean text vectors for authors with enough texts per scope",
    inputs=("texts", "embeddings"),
    outputs=("members",),
    reusable=True,
    carried_work=carried_work,
)
