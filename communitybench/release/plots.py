"""Release plots (PNG): a 2-D map of members by community, community sizes, option distributions."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def members_map(vectors: np.ndarray, labels: list[str | None], path: Path) -> None:
    """PCA of member vectors to 2-D, coloured by community (noise in grey)."""
    fig, ax = plt.subplots(figsize=(7, 6))
    if len(vectors) < 3:
        _empty(ax, "fewer than 3 members")
    else:
        from sklearn.decomposition import PCA

        xy = PCA(n_components=2, random_state=0).fit_transform(vectors)
        names = sorted({lab for lab in labels if lab is not None})
        colors = plt.get_cmap("tab20")
        noise = np.array([lab is None for lab in labels])
        ax.scatter(xy[noise, 0], xy[noise, 1], s=6, c="lightgrey", label="noise")
        for i, name in enumerate(names):
            mask = np.array([lab == name for lab in labels])
            ax.scatter(xy[mask, 0], xy[mask, 1], s=8, color=colors(i % 20), label=name)
        if len(names) <= 20:
            ax.legend(fontsize=6, markerscale=2, loc="best")
        ax.set_title(f"members by community ({len(names)} communities, PCA of member vectors)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def community_sizes(sizes: list[int], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    if sizes:
        ax.hist(sizes, bins=min(30, max(5, len(sizes))), color="tab:blue")
        ax.set_xlabel("members per community")
        ax.set_ylabel("communities")
        ax.set_title(f"community sizes (n = {len(sizes)})")
    else:
        _empty(ax, "no communities")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def option_distributions(distributions: list[list[float]], path: Path) -> None:
    """Histograms of every option probability and of each instance's top probability."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    if distributions:
        flat = [p for d in distributions for p in d]
        left.hist(flat, bins=30, color="tab:green")
        left.set_title("option probabilities")
        right.hist([max(d) for d in distributions], bins=30, color="tab:orange")
        right.set_title("top option probability per instance")
    else:
        _empty(left, "no distributions")
        _empty(right, "")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
