"""The realistic demo profile: heavy-tailed activity, unaffiliated members, sibling communities
that share their subreddit's topic words and differ in stance, tone and whom they reply to.

Every figure is recomputed here from the dump files (the truth only says who belongs where),
on a small forum (scale 0.4) so that the module stays fast. The easy profile is checked against
digests of the generator as it was before the profiles existed (commit 3effed8)."""

from __future__ import annotations

import collections
import hashlib
import json

import numpy as np
import pytest

from communitybench.sources.demo import vocab, world
from communitybench.sources.demo.forum import write_demo_forum
from tests.fixtures.dumps import dump_lines, record_of

JAN, FEB, MAR = 1767225600, 1769904000, 1772323200  # 2026-01-01, -02-01, -03-01 UTC
# sha256 of `write_demo_forum(out, seed=3, scale=0.3, months=2)` written by the generator
# before profiles existed (git show 3effed8:communitybench/sources/demo/*, run once).
EASY_BEFORE_PROFILES = {
    "RC_2026-01.zst": "d33ec9ab605bc893c4533e5dc59ad2b55820277e79ee00e0870fb761bc6f7356",
    "RC_2026-02.zst": "227124453c5a7c7238a2492110eae397f40489db79b4dbadfdb0c56621b1f7de",
    "RS_2026-01.zst": "1f8dbb9b8e3897afabb2293662b434d71b486c802613a82dc286d9d2562f558c",
    "RS_2026-02.zst": "59397bd7232e361fd81d4155fce80fc5dce7ef02c7aaab6d73121bc54181358a",
    "truth.json": "e38405571166d459fae821c88383e5075b7cbc3895ac6f075470d117cd9c9ef3",
}
# the same call with votes that follow exposure (world.planted_exposure, issue 13)
EASY_WITH_EXPOSURE = {
    "RC_2026-01.zst": "8c5588d139116548c063bee165acb63d0f8decfa03e62af77cc5c40f3d78603e",
    "RC_2026-02.zst": "b0e3b9ae132386aa497481aabcf49242a195cafc4cdc3793827bdecb3e4fb665",
    "RS_2026-01.zst": "09bf62ce69ebd074d1f0af768a95be0ab5865e5f109bec7c01445f82558410cd",
    "RS_2026-02.zst": "0e86ad36786b252627cfd31890178968b867d2334b37d1c0ae807f4932a69dbd",
    "truth.json": "1fdfe9b6c97594fb0220dfe11017bd4b305557f409c96b4f21cb7d6e42997de5",
}


def _shas(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def forum(tmp_path_factory):
    """A realistic forum (seed 11, scale 0.4, two months) and what its files say."""
    out = tmp_path_factory.mktemp("realistic")
    summary = write_demo_forum(out, seed=11, scale=0.4, months=2, profile="realistic")
    truth = json.loads((out / "truth.json").read_text())
    lines = {p.name: dump_lines(p) for p in sorted(out.glob("R[SC]_*.zst"))}
    records = {k: [r for r in map(record_of, v) if r] for k, v in lines.items()}
    comments = [r for k, v in records.items() if k.startswith("RC") for r in v]
    first: dict[str, dict] = {}
    for r in comments:  # the first observation carries the author
        first.setdefault(r["id"], r)
    gone = set(truth["duplicates"]) | set(truth["deleted"])
    clean = [r for r in first.values() if r["author"] in truth["members"] and r["id"] not in gone]
    return {
        "out": out,
        "summary": summary,
        "truth": truth,
        "lines": lines,
        "records": records,
        "first": first,
        "clean": clean,
        "jan": [r for r in clean if int(r["created_utc"]) < FEB],
    }


def test_easy_is_the_generator_from_before_the_profiles(tmp_path, monkeypatch):
    write_demo_forum(tmp_path / "easy", seed=3, scale=0.3, months=2, profile="easy")
    write_demo_forum(tmp_path / "default", seed=3, scale=0.3, months=2)
    assert _shas(tmp_path / "easy") == EASY_WITH_EXPOSURE == _shas(tmp_path / "default")
    truth = json.loads((tmp_path / "easy" / "truth.json").read_text())
    assert "profile" not in truth and None not in truth["members"].values()
    # with the planted exposure neutralised (issue 13), byte for byte the generator from
    # before the profiles: exposure changes the votes (and the draws after them), nothing else
    monkeypatch.setattr(world, "planted_exposure", lambda delays, lengths: np.ones(len(delays)))
    write_demo_forum(tmp_path / "flat", seed=3, scale=0.3, months=2, profile="easy")
    assert _shas(tmp_path / "flat") == EASY_BEFORE_PROFILES


def test_same_arguments_give_identical_bytes(forum, tmp_path):
    write_demo_forum(tmp_path, seed=11, scale=0.4, months=2, profile="realistic")
    assert _shas(tmp_path) == _shas(forum["out"])


def test_truth_names_communities_subreddits_and_unaffiliated_members(forum):
    truth, summary = forum["truth"], forum["summary"]
    assert truth["profile"] == summary["profile"] == "realistic"
    assert truth["knobs"]["unaffiliated"] >= 0.2
    subs = set(summary["subreddits"])
    per_sub = collections.Counter(c["subreddit"] for c in truth["communities"].values())
    assert set(per_sub) == subs and set(per_sub.values()) == {3}
    for name, info in truth["communities"].items():
        assert set(info) == {"subreddit", "theme", "sides"}
        assert info["sides"] == vocab.REALISTIC[info["subreddit"]]["communities"][name]["sides"]
    planted = set(truth["members"].values())
    assert planted == set(truth["communities"]) | {None}
    unaffiliated = sum(c is None for c in truth["members"].values()) / len(truth["members"])
    assert unaffiliated >= 0.2
    authors = {r["author"] for r in forum["jan"]}
    assert sum(truth["members"][a] is None for a in authors) / len(authors) >= 0.2
    assert authors <= set(truth["members"]) and not authors & set(truth["bots"])


def test_activity_is_heavy_tailed(forum):
    counts = np.array(list(collections.Counter(r["author"] for r in forum["jan"]).values()))
    assert (counts <= 2).mean() >= 0.5  # most authors write one or two comments
    assert 0.12 <= (counts >= 5).mean() <= 0.35  # enough material to cluster
    assert counts.max() >= 10
    top = np.sort(counts)[::-1][: len(counts) // 10]
    assert top.sum() / counts.sum() >= 0.3  # a tenth of the authors write a third


def _topic_use(bodies: list[str], topics: list[str]) -> np.ndarray:
    """How often each topic phrase appears in `bodies`."""
    return np.array([sum(t.lower() in b.lower() for b in bodies) for t in topics], dtype=float)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_sibling_communities_share_their_subreddits_topic_words(forum):
    """Topic phrases (the subreddit's topics, practices, problems) are used alike by siblings."""
    truth = forum["truth"]
    bodies = collections.defaultdict(list)
    for r in forum["clean"]:
        bodies[truth["members"][r["author"]]].append(r["body"])
    for sub in forum["summary"]["subreddits"]:
        topics = [
            t for key in ("topics", "practices", "problems") for t in vocab.shared_words(sub)[key]
        ]
        comms = [c for c, info in truth["communities"].items() if info["subreddit"] == sub]
        use = {c: _topic_use(bodies[c], topics) for c in comms}
        assert all((use[c] > 0).mean() >= 0.9 for c in comms)  # each writes about nearly all
        pairs = [_cosine(use[a], use[b]) for a in comms for b in comms if a < b]
        assert min(pairs) >= 0.8
        # the easy communities of the same subreddit each own a disjoint share of these phrases
        easy = vocab.SUBREDDITS[sub]["communities"].values()
        owned = [{*c["topics"], *c["practices"], *c["problems"]} for c in easy]
        assert all(not a & b for a in owned for b in owned if a is not b)


def _sides_taken(bodies: list[str], debates) -> np.ndarray:
    """(a mentions, b mentions) per debate, counted on the bodies."""
    out = np.zeros((len(debates), 2))
    for body in bodies:
        low = body.lower()
        for d, debate in enumerate(debates):
            for s, side in enumerate("ab"):
                out[d, s] += sum(p.lower() in low for p in debate[side])
    return out


def test_communities_differ_in_stance_and_tone(forum):
    truth = forum["truth"]
    bodies = collections.defaultdict(list)
    for r in forum["clean"]:
        bodies[truth["members"][r["author"]] or ("none", r["subreddit"])].append(r["body"])
    for comm, info in truth["communities"].items():
        debates = vocab.REALISTIC[info["subreddit"]]["debates"]
        taken = _sides_taken(bodies[comm], debates)
        own = [taken[d, "ab".index(side)] / taken[d].sum() for d, side in enumerate(info["sides"])]
        assert min(own) >= 0.75, comm  # the community's side, with some dissent
        loose = _sides_taken(bodies["none", info["subreddit"]], debates)
        assert np.all(np.abs(loose[:, 0] / loose.sum(1) - 0.5) <= 0.2)  # unaffiliated: either
    hedges = [p.lower() for p in vocab.TONE["hedged_openers"] + vocab.TONE["hedged_closers"]]
    blunt = [p.lower() for p in vocab.TONE["blunt_openers"] + vocab.TONE["blunt_closers"]]
    for sub in forum["summary"]["subreddits"]:
        comms = vocab.REALISTIC[sub]["communities"]
        hedge_share = {}
        for comm in comms:
            h = sum(any(p in b.lower() for p in hedges) for b in bodies[comm])
            k = sum(any(p in b.lower() for p in blunt) for b in bodies[comm])
            hedge_share[comm] = h / (h + k)
        most = max(comms, key=lambda c: comms[c]["hedge"])
        least = min(comms, key=lambda c: comms[c]["hedge"])
        assert hedge_share[most] - hedge_share[least] >= 0.4
        length = {c: np.mean([len(b) for b in bodies[c]]) for c in comms}
        longest = max(comms, key=lambda c: sum(comms[c]["sentences"]))
        shortest = min(comms, key=lambda c: sum(comms[c]["sentences"]))
        assert length[longest] >= 1.3 * length[shortest]


def test_members_reply_mostly_to_their_own_community(forum):
    truth, first, members = forum["truth"], forum["first"], forum["truth"]["members"]
    same = total = 0
    for r in forum["clean"]:
        parent = first.get(r["parent_id"][3:]) if r["parent_id"].startswith("t1_") else None
        if parent is None or parent["author"] == r["author"]:
            continue
        a, b = members[r["author"]], members.get(parent["author"])
        if a and b:
            total += 1
            same += a == b
    sizes = collections.Counter(c for c in members.values() if c)
    subs = {c: info["subreddit"] for c, info in truth["communities"].items()}
    expected = max(n / sum(sizes[d] for d in subs if subs[d] == subs[c]) for c, n in sizes.items())
    assert total >= 300 and same / total >= 0.75 and same / total >= 2 * expected


def test_members_share_threads_with_their_own_community(forum):
    """Co-participation: two affiliated authors of one thread mostly share a community."""
    members = forum["truth"]["members"]
    threads = collections.defaultdict(set)
    for r in forum["clean"]:
        if members[r["author"]]:
            threads[r["link_id"]].add(r["author"])
    same = total = 0
    for authors in threads.values():
        comms = [members[a] for a in authors]
        for i, a in enumerate(comms):
            for b in comms[i + 1 :]:
                total += 1
                same += a == b
    assert same / total >= 0.6


def test_owned_threads_keep_the_planted_preferences(forum):
    truth, first = forum["truth"], forum["first"]
    excluded = set(truth["duplicates"]) | set(truth["deleted"]) - set(truth["refetched_deleted"])
    top_level = collections.defaultdict(set)
    for r in first.values():
        if r["author"] in truth["members"] and r["id"] not in excluded:
            top_level[r["parent_id"]].add(r["id"])
    posted = {
        r["id"]: int(r["created_utc"])
        for k, v in forum["records"].items()
        for r in v
        if k[1] == "S"
    }
    assert set(truth["preferences"]) == set(truth["thread_owner"]) and truth["preferences"]
    delays, agree = [], []
    for sid, prefs in truth["preferences"].items():
        assert set(prefs) == top_level["t3_" + sid] and 3 <= len(prefs) <= 8
        owner = sum(
            truth["members"][first[c]["author"]] == truth["thread_owner"][sid] for c in prefs
        )
        assert owner / len(prefs) >= 0.75
        thread_delays = [int(first[c]["created_utc"]) - posted[sid] for c in prefs]
        delays += thread_delays
        assert sum(prefs.values()) == pytest.approx(1.0, abs=1e-5)
        p = np.array(list(prefs.values()))
        # votes follow intrinsic preference x planted exposure (issue 13): divide it out
        exposure = world.planted_exposure(thread_delays, [len(first[c]["body"]) for c in prefs])
        q = np.array([first[c]["score"] - 1 for c in prefs], dtype=float) / exposure
        agree.append(np.corrcoef(p, q / q.sum())[0, 1] > 0.5 or len(set(q)) == 1)
    assert np.mean(agree) >= 0.9  # a few near-flat threads disagree by multinomial noise
    delays = np.array(delays)
    assert delays.min() >= 60 and delays.max() <= 3 * 3600  # minutes to three hours
    assert 600 <= np.median(delays) <= 5400 and (delays > 3600).mean() >= 0.1  # spread over hours


def test_every_planted_artefact_is_there(forum):
    truth, records, lines = forum["truth"], forum["records"], forum["lines"]
    comments = [r for k, v in records.items() if k.startswith("RC") for r in v]
    assert all(JAN <= int(r["created_utc"]) < MAR for r in comments)
    jan = records["RC_2026-01.zst"]
    spam = [r for r in jan if r["author"] == truth["bots"][1]]
    assert len({r["body"] for r in spam}) == 1 and len({r["link_id"] for r in spam}) >= 15
    assert any(r["author"] == "AutoModerator" for r in jan)
    assert any(r["author"] == "AutoModerator" for r in records["RS_2026-01.zst"])
    by_id = collections.defaultdict(list)
    for r in comments:
        by_id[r["id"]].append(r)
    assert all(by_id[i][-1]["body"] == "[removed]" for i in truth["removed"])
    assert all(by_id[i][-1]["author"] == "[deleted]" for i in truth["deleted"])
    assert len(truth["refetched_deleted"]) >= 2 and len(truth["duplicates"]) >= 2
    assert all(len(by_id[i]) == 2 for i in truth["refetched_deleted"])
    bad = [i for i, text in enumerate(lines["RC_2026-01.zst"], 1) if record_of(text) is None]
    assert truth["malformed_lines"] == {"RC_2026-01.zst": bad} and len(bad) >= 4
    assert 0.01 <= sum(isinstance(r["created_utc"], str) for r in jan) / len(jan) <= 0.06
    bodies = [r["body"] for r in forum["clean"]]
    assert all(60 <= len(b) <= 600 for b in bodies) and len(set(bodies)) == len(bodies)
    feb = {r["author"] for r in records["RC_2026-02.zst"]} & set(truth["members"])
    assert feb and 0.05 <= len(records["RC_2026-02.zst"]) / len(jan) <= 0.2


def test_an_unknown_profile_is_refused(tmp_path):
    with pytest.raises(ValueError, match="profile must be one of easy, realistic"):
        write_demo_forum(tmp_path, profile="hard")
