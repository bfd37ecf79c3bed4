"""Reading a release for scoring: a fixed sample of instances per task (``evaluate --sample``)."""

from __future__ import annotations

import hashlib
import json

import pytest

from communitybench.config import UsageError
from communitybench.evaluate.release import open_release


@pytest.fixture
def release(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"version": "t"}))
    for task, n in (("pi", 6), ("dp", 2)):
        (tmp_path / task).mkdir()
        rows = [{"instance_id": f"{task}-{i}", "label": i} for i in range(n)]
        (tmp_path / task / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return open_release(tmp_path)


def test_a_sample_keeps_the_ids_whose_hash_sorts_first_in_file_order(release):
    ids = [f"pi-{i}" for i in range(6)]
    first = sorted(ids, key=lambda i: hashlib.sha256(i.encode()).hexdigest())[:3]
    sampled = release.sampled(3)
    assert [r["instance_id"] for r in sampled.instances("pi", "test")] == [
        i for i in ids if i in first
    ]
    assert len(sampled.instances("dp", "test")) == 2  # fewer than the sample: all of them
    assert len(release.instances("pi", "test")) == 6  # the release itself is unchanged
    with pytest.raises(UsageError, match="at least one instance"):
        release.sampled(0)
