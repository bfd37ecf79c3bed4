"""The demo forum generator: determinism, dump format and the planted ground truth."""

import collections
import hashlib
import json

import numpy as np
import pytest
import zstandard

from communitybench.sources.demo.forum import COMMENT_FIELDS, SUBMISSION_FIELDS, write_demo_forum
from communitybench.sources.demo.world import planted_exposure
from tests.fixtures.dumps import dump_lines, record_of

MONTH_1 = ("RS_2026-01.zst", "RC_2026-01.zst")
JAN, FEB, MAR = 1767225600, 1769904000, 1772323200  # 2026-01-01, -02-01, -03-01 UTC


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load(out):
    files = {p.name: dump_lines(p) for p in sorted(out.glob("R[SC]_*.zst"))}
    return {
        "out": out,
        "truth": json.loads((out / "truth.json").read_text()),
        "lines": files,
        "records": {k: [r for r in map(record_of, v) if r] for k, v in files.items()},
    }


@pytest.fixture(scope="module")
def forum(demo_forum):
    """The session's default forum (seed 7, scale 1.0, two months), read-only."""
    return _load(demo_forum)


@pytest.fixture(scope="module")
def one_month(tmp_path_factory):
    """The same seed with one month, and the summary its writer returned."""
    out = tmp_path_factory.mktemp("one_month")
    summary = write_demo_forum(out, seed=7, months=1)
    return out, summary


def test_same_arguments_give_identical_bytes_and_truth(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_demo_forum(a, seed=3, scale=0.3)
    write_demo_forum(b, seed=3, scale=0.3)
    write_demo_forum(c, seed=4, scale=0.3)
    names = [*MONTH_1, "truth.json"]
    assert [_sha(a / n) for n in names] == [_sha(b / n) for n in names]
    assert all(_sha(a / n) != _sha(c / n) for n in names)


def test_month_1_is_identical_whatever_months(forum, one_month):
    out, _ = one_month
    assert [_sha(forum["out"] / n) for n in MONTH_1] == [_sha(out / n) for n in MONTH_1]
    assert sorted(p.name for p in out.iterdir()) == [*sorted(MONTH_1), "truth.json"]


def test_month_2_adds_5_to_20_percent_by_the_same_members(forum):
    jan, feb = forum["records"]["RC_2026-01.zst"], forum["records"]["RC_2026-02.zst"]
    assert 0.05 <= len(feb) / len(jan) <= 0.20
    members = forum["truth"]["members"]
    authors = {r["author"] for r in feb} - {"[deleted]", *forum["truth"]["bots"]}
    assert authors <= set(members)
    assert all(JAN <= int(r["created_utc"]) < FEB for r in jan)
    assert all(FEB <= int(r["created_utc"]) < MAR for r in feb)


def test_reading_needs_a_2gib_window(forum):
    raw = (forum["out"] / "RC_2026-01.zst").read_bytes()
    assert zstandard.get_frame_parameters(raw).window_size == 2**31
    with pytest.raises(zstandard.ZstdError, match="too much memory"):
        zstandard.ZstdDecompressor().stream_reader(raw).read()


def test_only_the_planted_lines_are_malformed(forum):
    truth = forum["truth"]
    bad = {
        name: [i for i, line in enumerate(lines, 1) if record_of(line) is None]
        for name, lines in forum["lines"].items()
    }
    assert {k: v for k, v in bad.items() if v} == truth["malformed_lines"]
    planted = [forum["lines"]["RC_2026-01.zst"][i - 1] for i in bad["RC_2026-01.zst"]]
    assert 3 <= len(planted) <= 6
    loaded = []
    for line in planted:
        try:
            loaded.append(type(json.loads(line)).__name__)
        except json.JSONDecodeError:
            loaded.append("error")
    assert {"error", "list", "dict"} <= set(loaded)


def test_records_have_the_pushshift_fields(forum):
    for name, records in forum["records"].items():
        fields = SUBMISSION_FIELDS if name.startswith("RS") else COMMENT_FIELDS
        assert all(tuple(r) == fields for r in records)
        assert all(r["retrieved_on"] >= int(r["created_utc"]) for r in records)
    comments = forum["records"]["RC_2026-01.zst"]
    as_text = sum(isinstance(r["created_utc"], str) for r in comments) / len(comments)
    assert 0.01 <= as_text <= 0.06
    assert all(r["downs"] == 0 and r["ups"] == r["score"] for r in comments)


def _threads(records):
    by_thread = collections.defaultdict(list)
    for r in records:
        by_thread[r["link_id"][3:]].append(r)
    return by_thread


def test_preferences_cover_top_level_replies_and_match_scores(forum):
    truth = forum["truth"]
    comments = [r for k, v in forum["records"].items() if k.startswith("RC") for r in v]
    first = {}
    for r in comments:  # the first observation of each id carries its author and score
        first.setdefault(r["id"], r)
    excluded = set(truth["duplicates"]) | set(truth["deleted"]) - set(truth["refetched_deleted"])
    top_level = collections.defaultdict(set)
    for r in first.values():
        if r["author"] in truth["members"] and r["id"] not in excluded:
            top_level[r["parent_id"]].add(r["id"])
    posted = {
        r["id"]: int(r["created_utc"])
        for k, v in forum["records"].items()
        for r in v
        if k.startswith("RS")
    }
    jsd = []
    assert set(truth["preferences"]) == set(truth["thread_owner"])
    for sid, prefs in truth["preferences"].items():
        options = top_level["t3_" + sid]
        assert set(prefs) == options and 3 <= len(prefs) <= 8
        assert len({first[c]["author"] for c in prefs}) == len(prefs)
        assert all(0 < int(first[c]["created_utc"]) - posted[sid] <= 3 * 3600 for c in prefs)
        assert sum(prefs.values()) == pytest.approx(1.0, abs=1e-5)
        p = np.array(list(prefs.values()))
        # observed votes = intrinsic preference x planted exposure (delay, rank, length)
        delays = [int(first[c]["created_utc"]) - posted[sid] for c in prefs]
        exposure = planted_exposure(delays, [len(first[c]["body"]) for c in prefs])
        votes = np.array([first[c]["score"] - 1 for c in prefs], dtype=float)
        jsd.append([_jsd(p, votes / votes.sum()), _jsd(p, (q := votes / exposure) / q.sum())])
    raw, adjusted = np.mean(jsd, axis=0)
    assert adjusted < 0.05 and raw > 2 * adjusted, (raw, adjusted)


def _jsd(p, q) -> float:
    m = (p + q) / 2
    kl = [np.sum(x[x > 0] * np.log2(x[x > 0] / m[x > 0])) for x in (p, q)]
    return float(kl[0] + kl[1]) / 2


def test_owner_community_writes_at_least_three_quarters_of_each_thread(forum):
    truth = forum["truth"]
    members = truth["members"]
    comments = [r for k, v in forum["records"].items() if k.startswith("RC") for r in v]
    for sid, records in _threads(comments).items():
        if sid not in truth["thread_owner"]:
            continue
        authors = {r["author"] for r in records if r["author"] in members}
        owners = sum(members[a] == truth["thread_owner"][sid] for a in authors)
        assert owners / len(authors) >= 0.75


def test_members_communities_and_comment_quota(forum):
    truth = forum["truth"]
    assert 450 <= len(truth["members"]) <= 750
    per_sub = collections.Counter(c["subreddit"] for c in truth["communities"].values())
    assert len(per_sub) >= 3 and all(2 <= n <= 4 for n in per_sub.values())
    assert len(truth["communities"]) >= 9
    assert set(truth["members"].values()) == set(truth["communities"])
    assert not set(truth["bots"]) & set(truth["members"])
    skip = set(truth["duplicates"]) | set(truth["refetched_deleted"])
    normal = [
        r
        for r in forum["records"]["RC_2026-01.zst"]
        if r["author"] in truth["members"] and r["id"] not in skip
    ]
    counts = collections.Counter(r["author"] for r in normal)
    assert min(counts[m] for m in truth["members"]) >= 5
    assert all(60 <= len(r["body"]) <= 600 for r in normal)
    assert len({r["body"] for r in normal}) == len(normal)  # no accidental duplicates


def test_bots_are_planted(forum):
    truth = forum["truth"]
    comments = forum["records"]["RC_2026-01.zst"]
    spam = [r for r in comments if r["author"] == truth["bots"][1]]
    assert len({r["body"] for r in spam}) == 1 and len({r["link_id"] for r in spam}) >= 15
    automod = [r for r in comments if r["author"] == "AutoModerator"]
    assert all(r["distinguished"] == "moderator" and r["stickied"] for r in automod)
    owned = {
        sid
        for sid in truth["thread_owner"]
        if sid in {r["id"] for r in forum["records"]["RS_2026-01.zst"]}
    }
    assert len({r["link_id"][3:] for r in automod} & owned) >= 0.9 * len(owned)
    assert any(r["author"] == "AutoModerator" for r in forum["records"]["RS_2026-01.zst"])


def test_deleted_removed_duplicate_and_refetched_rows(forum):
    truth = forum["truth"]
    comments = [r for k, v in forum["records"].items() if k.startswith("RC") for r in v]
    by_id = collections.defaultdict(list)
    for r in comments:
        by_id[r["id"]].append(r)
    deleted = set(truth["deleted"])
    assert set(truth["removed"]) | set(truth["refetched_deleted"]) <= deleted
    assert all(by_id[i][-1]["body"] == "[removed]" for i in truth["removed"])
    assert all(by_id[i][-1]["author"] == "[deleted]" for i in deleted)
    for i in truth["refetched_deleted"]:
        early, late = by_id[i]
        assert early["author"] in truth["members"] and late["body"] == "[deleted]"
        assert late["retrieved_on"] > early["retrieved_on"]
    originals = {
        (r["author"], r["link_id"], r["body"])
        for r in comments
        if r["id"] not in truth["duplicates"]
    }
    for i in truth["duplicates"]:
        (dup,) = by_id[i]
        assert (dup["author"], dup["link_id"], dup["body"]) in originals
    n = len(by_id)
    assert 0.02 <= (len(deleted) - len(truth["removed"])) / n <= 0.07
    assert 0.01 <= len(truth["removed"]) / n <= 0.04
    assert len(truth["refetched_deleted"]) >= 2 and len(truth["duplicates"]) >= 2


def test_summary_counts(one_month):
    out, summary = one_month
    data = _load(out)
    truth = data["truth"]
    assert summary["members"] == len(truth["members"])
    assert summary["duplicates"] == len(truth["duplicates"])
    assert summary["malformed"] == len(truth["malformed_lines"]["RC_2026-01.zst"])
    jan = len({r["id"] for r in data["records"]["RC_2026-01.zst"]})
    assert 3000 <= jan <= 6000
    assert summary["files"] == [*MONTH_1, "truth.json"]
    assert summary["comment_lines"] == len(data["lines"]["RC_2026-01.zst"])


def test_bad_arguments_say_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match="months"):
        write_demo_forum(tmp_path, months=0)
    with pytest.raises(ValueError, match="scale"):
        write_demo_forum(tmp_path, scale=0)
    with pytest.raises(ValueError, match="profile"):
        write_demo_forum(tmp_path, profile="Realistic")
