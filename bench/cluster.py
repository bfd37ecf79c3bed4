"""Clustering wall time: PCA + HDBSCAN over 20k / 50k / 100k member vectors, per backend.

Synthetic member vectors shaped like the real ones: 384-d unit vectors around a few hundred
community centres (sizes drawn from a long-tailed distribution) plus 10% scattered members.
Each backend clusters the same reduced points; the bare baseline is PCA alone. Prints wall
times, the adjusted Rand index of each backend against the planted communities and against
``hdbscan`` (target: 100k in <= 60 s on 2 cores with the fastest CPU backend).

    .venv/bin/python bench/cluster.py [--sizes 20000 50000 100000] [--dim 30]
        [--backends hdbscan fast_hdbscan] [--max-seconds 300] [--stability-runs 5]

``--stability-runs R`` also times the sub-community stability check of the communities stage
(R seeded re-clusterings of 80% subsamples, ``transforms.community_levels.stability``) after
each clustering: the whole per-forum cost is ``cluster s`` + ``stab s``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import adjusted_rand_score

import communitybench  # noqa: F401  (offline defaults, NUMBA_CACHE_DIR)
from transforms.communities import cluster_members, reduce_dimensions
from transforms.community_levels import stability

EMBED_DIM = 384


def member_vectors(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n unit vectors: ~n/300 communities (Pareto sizes) with 10% scattered members (-1)."""
    rng = np.random.default_rng(seed)
    k = max(n // 300, 5)
    centres = rng.normal(size=(k, EMBED_DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = rng.pareto(1.5, k) + 1
    truth = rng.choice(k, size=n, p=weights / weights.sum())
    truth[rng.random(n) < 0.10] = -1
    # member vectors are means of a few text vectors: tight around the centre, not exact
    spread = rng.normal(scale=0.035, size=(n, EMBED_DIM))
    base = np.where(truth[:, None] >= 0, centres[np.maximum(truth, 0)], 0.0)
    vectors = base + spread + (truth[:, None] < 0) * rng.normal(scale=0.06, size=(n, EMBED_DIM))
    return vectors.astype(np.float32), truth


def time_backend(points: np.ndarray, backend: str, min_cluster_size: int) -> tuple:
    """(wall s, process CPU s, labels) of one clustering."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = cluster_members(
        points, backend=backend, min_cluster_size=min_cluster_size, min_samples=5
    )
    return time.perf_counter() - wall, time.process_time() - cpu, result.labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 50_000, 100_000])
    parser.add_argument("--dim", type=int, default=30, help="PCA size (fast_hdbscan: <= 30)")
    parser.add_argument("--backends", nargs="+", default=["hdbscan", "fast_hdbscan"])
    parser.add_argument("--min-cluster-size", type=int, default=10)
    parser.add_argument(
        "--max-seconds", type=float, default=300, help="skip larger sizes for a backend past this"
    )
    parser.add_argument("--stability-runs", type=int, default=0)
    args = parser.parse_args()
    # first call compiles (or loads from NUMBA_CACHE_DIR) fast_hdbscan's numba code
    warm = reduce_dimensions(member_vectors(500, seed=9)[0], dim=args.dim)
    for backend in args.backends:
        time_backend(warm, backend, args.min_cluster_size)
    too_slow: set[str] = set()
    print(
        f"{'members':>8} {'backend':>13} {'pca s':>6} {'cluster s':>9} {'cpu s':>7} "
        f"{'total s':>8} {'clusters':>8} {'noise':>6} {'ARI truth':>9} {'ARI hdbscan':>11} "
        f"{'stab s':>7} {'stab med':>8}"
    )
    for n in args.sizes:
        vectors, truth = member_vectors(n)
        started = time.perf_counter()
        points = reduce_dimensions(vectors, dim=args.dim)
        pca_s = time.perf_counter() - started
        reference = None
        for backend in args.backends:
            if backend in too_slow:
                print(f"{n:>8} {backend:>13}  skipped (a smaller size took > {args.max_seconds} s)")
                continue
            seconds, cpu, labels = time_backend(points, backend, args.min_cluster_size)
            reference = labels if backend == "hdbscan" else reference
            stab_s, stab_med = 0.0, float("nan")
            if args.stability_runs:
                started = time.perf_counter()
                scores = stability(
                    points,
                    labels,
                    lambda p, b=backend: time_backend(p, b, args.min_cluster_size)[2],
                    runs=args.stability_runs,
                    fraction=0.8,
                    seed=0,
                )
                stab_s, stab_med = time.perf_counter() - started, float(np.median(scores))
            vs_ref = adjusted_rand_score(reference, labels) if reference is not None else None
            print(
                f"{n:>8} {backend:>13} {pca_s:>6.2f} {seconds:>9.2f} {cpu:>7.2f} "
                f"{pca_s + seconds:>8.2f} "
                f"{labels.max() + 1:>8} {np.mean(labels < 0):>6.1%} "
                f"{adjusted_rand_score(truth, labels):>9.3f} "
                f"{'-' if vs_ref is None else f'{vs_ref:.3f}':>11} "
                f"{stab_s:>7.2f} {stab_med:>8.3f}",
                flush=True,
            )
            if seconds > args.max_seconds:
                too_slow.add(backend)


if __name__ == "__main__":
    main()
