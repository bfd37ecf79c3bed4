"""The errors a command reports in one line (``flows/errors.py`` sorts them into exit codes).

They live here, free of heavy imports, so that the command line can name them without importing
praw, pandas or Great Expectations: every command pays for what it imports (``communitybench
ingest`` is measured against bare DuckDB, process start included). The modules that raise them
import them from here.
"""

from __future__ import annotations


class ValidationFailed(RuntimeError):
    """Raised when a gate fails; the message names tables, checks and failing row keys."""

    def __init__(self, summary):
        self.summary = summary  # a release.validation.ValidationSummary
        lines = "\n".join(f"  - {f.line()}" for f in summary.failures)
        docs = f"\nData Docs: {summary.docs_dir}/index.html" if summary.docs_dir else ""
        super().__init__(f"validation failed — the release is blocked:\n{lines}{docs}")


class ReleaseError(RuntimeError):
    """A release that cannot be written (exists already, a split gate failed, ...)."""


class CredentialsError(RuntimeError):
    """A Reddit credential is missing or unusable; the message says what to set."""


class CrawlAborted(RuntimeError):
    """The crawl stopped early (API unreachable); running it again resumes where it stopped."""


class EndpointUnreachable(ConnectionError):
    """The chat endpoint refused or dropped every connection: nothing more is asked."""
