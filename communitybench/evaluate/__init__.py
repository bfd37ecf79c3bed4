"""Scoring a model on a release: predictions → metrics, a chat model → predictions, baselines,
and the harness files (lm-evaluation-harness, inspect_ai) every release ships under ``eval/``."""

from communitybench.errors import EndpointUnreachable

__all__ = ["EndpointUnreachable"]
