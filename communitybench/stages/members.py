"""Stage ``members``: authors with enough embedded texts in a scope → keyed pseudonyms + vectors.

``member_id`` = HMAC-SHA256(COMMUNITYBENCH_PSEUDONYM_KEY, author)[:16]; the key comes from the
environment at run time (never from the config, and never into Prefect's records). The public
development key is accepted for the synthetic demo forum only, with a warning.
"""

from __future__ import annotations

import polars as pl

import warehouse
from communitybench.config import CommunitiesConfig, EmbedConfig, MembersConfig, SourceConfig
from communitybench.settings import get_settings
from communitybench.stage import Stage, StageParams, StageResult, Table, Work
from transforms.members import MEMBERS_VERSION, build_member_vectors
from transforms.vectors import vector_column, vectors_from_arrow


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
    model = {"model": params.embed.model, "revision": params.embed.revision}
    rows = warehouse.query(con, "int_text_vectors", model).to_arrow_table()
    texts = pl.from_arrow(rows.select(["author", "subreddit"]))
    scope, min_texts = params.communities.scope, params.members.min_texts
    members, vectors = build_member_vectors(
        texts, vectors_from_arrow(rows["vector"]), min_texts=min_texts, scope=scope, key=key
    )
    warehouse.replace_tables(
        con, {"members": members.to_arrow().append_column("vector", vector_column(vectors))}
    )
    authors = texts["author"].n_unique()
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
            "texts": texts.height,
            "authors": authors,
            "members": members.height,
            "per_scope": per_scope,
        },
    )


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
