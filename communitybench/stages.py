"""Stage entry points shared by the CLI and the Prefect tasks.

Each function opens the warehouse itself (one writer at a time), takes plain keyword arguments
and returns a JSON-able summary. Business logic lives in ``transforms/``, SQL in ``warehouse/``
and source readers in ``communitybench/sources``; these functions only connect them.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import warehouse
from communitybench.sources.dumps.ingest import INGEST_VERSION, ingest_paths

STAGING_VERSION = "staging_v2"  # v2: takedown drop reason


def run_ingest(
    warehouse_path: Path,
    paths: list[Path],
    *,
    subreddits: list[str],
    date_from,
    date_to,
    batch_lines: int,
    max_line_bytes: int,
    progress: bool = True,
) -> dict:
    """Ingest dump files into raw observation tables; return per-file counts."""
    with warehouse.connect(warehouse_path) as con:
        reports = ingest_paths(
            con,
            paths,
            subreddits=subreddits,
            date_from=date_from,
            date_to=date_to,
            batch_lines=batch_lines,
            max_line_bytes=max_line_bytes,
            progress=progress,
        )
    files = []
    for report in reports:
        row = asdict(report)
        row["quarantined"] = dict(sorted(report.quarantined.items()))
        files.append(row)
    return {"version": INGEST_VERSION, "files": files}


def run_staging(
    warehouse_path: Path,
    *,
    min_chars: int,
    max_chars: int,
    bot_names: list[str],
    bot_pattern: str,
    bot_allow: list[str],
    repeat_threads: int,
    takedowns: Path | None = None,
    allow_dev_key: bool = False,
) -> dict:
    """Rebuild stg_submissions and stg_comments; return row and drop counts per reason."""
    variables = {
        "min_chars": min_chars,
        "max_chars": max_chars,
        "bot_names": list(bot_names),
        "bot_pattern": bot_pattern,
        "bot_allow": list(bot_allow),
        "repeat_threads": repeat_threads,
    }
    summary = {"version": STAGING_VERSION, "tables": {}}
    with warehouse.connect(warehouse_path) as con:
        warehouse.ensure_tables(con, layer="raw")
        variables.update(_takedown_variables(con, takedowns, allow_dev_key=allow_dev_key))
        summary["takedowns"] = {
            "authors": len(variables["takedown_authors"]),
            "items": len(variables["takedown_items"]),
        }
        for table in ("stg_submissions", "stg_comments"):
            rows = warehouse.materialize(con, table, variables=variables)
            drops = con.execute(
                f"select drop_reason, count(*) from {table} where drop_reason is not null "
                "group by 1 order by 2 desc, 1"
            ).fetchall()
            summary["tables"][table] = {
                "rows": rows,
                "kept": rows - sum(n for _, n in drops),
                "dropped": dict(drops),
            }
    return summary


def _takedown_variables(con, path: Path | None, *, allow_dev_key: bool) -> dict:
    """The authors and item ids a takedown file names (authors matched by name or pseudonym)."""
    from transforms.takedowns import parse_takedowns, taken_down_authors

    if path is None:
        return {"takedown_authors": [], "takedown_items": []}
    if not Path(path).exists():
        raise FileNotFoundError(f"takedown list {path} (clean.takedowns) does not exist")
    listed = parse_takedowns(Path(path).read_text(encoding="utf-8"))
    authors = [
        r[0]
        for r in con.execute(
            "select distinct author from raw_comments where author is not null union "
            "select distinct author from raw_submissions where author is not null"
        ).fetchall()
    ]
    key = None
    if listed.member_ids:
        from communitybench.settings import get_settings

        key = get_settings().pseudonym_key_value(allow_dev_default=allow_dev_key)
    return {
        "takedown_authors": taken_down_authors(listed, authors, key=key),
        "takedown_items": sorted(listed.items),
    }


def staging_kwargs(clean, *, config=None) -> dict:
    """Unpack the [clean] config section into run_staging keyword arguments."""
    kwargs = {
        "min_chars": clean.min_chars,
        "max_chars": clean.max_chars,
        "bot_names": clean.bot_names,
        "bot_pattern": clean.bot_pattern,
        "bot_allow": clean.bot_allow,
        "repeat_threads": clean.repeat_threads,
    }
    if config is not None:
        kwargs["allow_dev_key"] = config.source.kind == "demo"
        if clean.takedowns is not None:
            kwargs["takedowns"] = config.resolve(clean.takedowns)
    return kwargs


def run_release(
    warehouse_path: Path,
    *,
    config,
    releases_dir: Path,
    build_dir: Path,
    version: str | None = None,
    progress: bool = True,
) -> dict:
    """Splits → validation gates (block on failure) → atomic export of ``releases/<version>``."""
    from communitybench.release import export as release_build
    from communitybench.release import validation
    from communitybench.release import versions as release

    releases_dir, build_dir = Path(releases_dir), Path(build_dir)
    now = release.utc_now()
    name = release.next_version(releases_dir, today=now, requested=version)
    splits = config.splits
    fingerprint = build_fingerprint(warehouse_path, config=config)
    with warehouse.connect(warehouse_path) as con:
        warehouse.ensure_tables(con, layer="marts")
        gates = release.assign_instance_splits(
            con,
            seed=splits.seed,
            fractions=splits.fractions,
            group_by=splits.group_by,
            near_dup_cosine=splits.near_duplicate_cosine,
            model=config.embed.model,
            revision=config.embed.revision,
        )
        tables = [s.name for s in schemas_in_warehouse(con)]
        docs = build_dir / name / "data_docs"
        summary = validation.validate_tables(con, tables, docs_dir=docs)
        if not summary.success:
            raise validation.ValidationFailed(summary)
        models = {"embedding": {"model": config.embed.model, "revision": config.embed.revision}}
        models["llm"] = _llm_models(con)
        path = release_build.write_release(
            con,
            releases_dir=releases_dir,
            version=name,
            config=config,
            validation=summary.to_dict(),
            gates=gates,
            models=models,
            created_at=now.isoformat(timespec="seconds"),
            progress=progress,
            input_fingerprint=fingerprint,
        )
    return {"version": name, "path": str(path), "validation": summary.to_dict(), "gates": gates}


def schemas_in_warehouse(con) -> list:
    """The schemas whose tables exist in the warehouse (the ones validation checks)."""
    import schemas

    return [s for s in schemas.all_schemas() if warehouse.table_exists(con, s.name)]


def _llm_models(con) -> list[str]:
    if not warehouse.table_exists(con, "profiles"):
        return []
    rows = con.execute(
        "select distinct model from profiles where profile_method = 'llm' and model is not null"
    ).fetchall()
    return sorted(r[0] for r in rows)


def build_fingerprint(warehouse_path: Path, *, config) -> str:
    """The input fingerprint of a build (see communitybench.incremental)."""
    from communitybench.release import export as release_build
    from communitybench.release import incremental

    takedowns = config.resolve(config.clean.takedowns) if config.clean.takedowns else None
    code = {"versions": release_build.stage_versions(), "revision": release_build.code_revision()}
    with warehouse.connect(warehouse_path) as con:
        return incremental.input_fingerprint(con, config=config, code=code, takedowns=takedowns)


def run_reuse_check(warehouse_path: Path, *, config, releases_dir: Path) -> dict:
    """Whether the latest release was built from exactly these inputs (then reuse it)."""
    from communitybench.release import incremental

    fingerprint = build_fingerprint(warehouse_path, config=config)
    latest = incremental.latest_release(releases_dir)
    previous = latest[0] if latest else None
    same = latest is not None and latest[1].get("input_fingerprint") == fingerprint
    return {"fingerprint": fingerprint, "previous": previous, "reusable": same}


def run_republish(releases_dir: Path, *, previous: str, version: str | None = None) -> dict:
    """Publish a new version that reuses every file of ``previous`` (no input changed)."""
    from communitybench.release import incremental
    from communitybench.release import versions as release

    now = release.utc_now()
    name = release.next_version(Path(releases_dir), today=now, requested=version)
    path = incremental.republish(
        Path(releases_dir),
        previous=previous,
        version=name,
        created_at=now.isoformat(timespec="seconds"),
    )
    manifest = json.loads((path / "manifest.json").read_text())
    return {
        "version": name,
        "path": str(path),
        "reused_from": previous,
        "validation": manifest["validation"],
        "gates": manifest["split_gates"],
    }


def run_demo_forum(out_dir: Path, *, seed: int, scale: float, months: int) -> dict:
    """Write the demo forum unless the same forum (seed, scale, months, version) is there."""
    from communitybench.sources.demo.forum import DEMO_FORUM_VERSION, write_demo_forum

    truth = Path(out_dir) / "truth.json"
    if truth.exists():
        meta = json.loads(truth.read_text())
        wanted = {"seed": seed, "scale": scale, "months": months, "version": DEMO_FORUM_VERSION}
        have = {k: meta.get(k) for k in wanted}
        files = [
            Path(out_dir) / f"{kind}_2026-{m:02d}.zst"
            for kind in ("RS", "RC")
            for m in range(1, months + 1)
        ]
        if have == wanted and all(f.exists() for f in files):
            return {"out_dir": str(out_dir), "reused": True, **wanted}
    return write_demo_forum(out_dir, seed=seed, scale=scale, months=months, progress=True)


def ingest_kwargs(config) -> dict:
    """Unpack [filters] and [ingest] into run_ingest keyword arguments."""
    return {
        "subreddits": config.filters.subreddits,
        "date_from": config.filters.date_from,
        "date_to": config.filters.date_to,
        "batch_lines": config.ingest.batch_lines,
        "max_line_bytes": config.ingest.max_line_bytes,
    }


def ingest_and_stage(
    warehouse_path: Path, paths: list[Path], *, config=None, progress: bool = False
) -> dict:
    """Dump files → raw → staging with a config's settings (the defaults when none is given)."""
    from communitybench.config import BuildConfig

    config = config or BuildConfig()
    ingested = run_ingest(warehouse_path, list(paths), **ingest_kwargs(config), progress=progress)
    staged = run_staging(warehouse_path, **staging_kwargs(config.clean, config=config))
    return {"ingest": ingested, "staging": staged}
