"""Scoring a model on a release: predictions → metrics, a chat model → predictions, baselines,
and the harness files (lm-evaluation-harness, inspect_ai) every release ships under ``eval/``."""


class EndpointUnreachable(ConnectionError):
    """The chat endpoint refused or dropped every connection: nothing more is asked."""
