"""How the command line reports failures: one message per error a user can act on, no traceback.

A blocked release, a build not swapped in or a stopped crawl exit 1; the errors a user can fix
(config, files, missing tables, credentials) exit 2. Prefect still records the full traceback.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from communitybench.config import ConfigError, UsageError
from communitybench.errors import (
    CrawlAborted,
    CredentialsError,
    EndpointUnreachable,
    ReleaseError,
    ValidationFailed,
)
from transforms.takedowns import TakedownError
from warehouse import StageInputError
from warehouse.swap import RebuildError

err = Console(stderr=True)

# what a user can fix; anything else is a bug and keeps its traceback
USER_ERRORS = (
    StageInputError,
    FileNotFoundError,
    TakedownError,
    CredentialsError,
    ConfigError,
    UsageError,
    EndpointUnreachable,  # evaluate --model: start the server, then rerun (answers are cached)
)

BLOCKED = (ValidationFailed, ReleaseError, RebuildError, CrawlAborted)


class _ExplainedErrors(logging.Filter):
    """Prefect logs a failed stage with its traceback. For the errors this CLI explains in one
    line, the terminal gets Prefect's log lines without the traceback (its UI keeps them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], BLOCKED + USER_ERRORS):
            record.exc_info, record.exc_text = None, None
        return True


@contextmanager
def user_errors(prefix: str = "error"):
    """One message, no traceback: a blocked release, a build not swapped in or a stopped crawl
    exit 1; the errors a user can fix (config, files, missing tables) exit 2."""
    explained = _ExplainedErrors()
    handlers = list(logging.getLogger().handlers)  # Prefect's console handler
    for handler in handlers:
        handler.addFilter(explained)
    try:
        yield
    except (ValidationFailed, ReleaseError) as exc:
        err.print(f"[red]release blocked:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except RebuildError as exc:
        err.print(f"[red]build not swapped in:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except CrawlAborted as exc:
        err.print(f"[red]crawl stopped:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except USER_ERRORS as exc:
        err.print(f"[red]{prefix}:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        for handler in handlers:
            handler.removeFilter(explained)
