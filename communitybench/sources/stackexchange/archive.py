"""Where a Stack Exchange site dump lives: a folder of XML files or the site's ``.7z`` archive.

The archive.org dumps are one ``<host>.7z`` per site (``quantumcomputing.stackexchange.com.7z``)
holding Posts.xml, Votes.xml, Comments.xml, Users.xml, Tags.xml, ... An archive is extracted with
py7zr (pure Python, installed from pyproject) one file at a time into a work folder, once: the XML
is then streamed from disk, so memory stays bounded whatever the dump's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from communitybench.config import UsageError

# the files read, in ingest order: votes are counted before the posts they belong to, and
# comments need their posts; Users.xml is never read (display names must not enter the warehouse)
FILES = ("Votes.xml", "Posts.xml", "Comments.xml")
KNOWN = (*FILES, "Users.xml", "Tags.xml", "Badges.xml", "PostLinks.xml", "PostHistory.xml")
EXTRACT_MARKER = ".extracted"


class NotASiteDump(UsageError):
    """A path that is no Stack Exchange site dump, or one whose site cannot be named."""


@dataclass(frozen=True)
class SiteDump:
    """One site's dump folder (extracted when it came as an archive)."""

    site: str  # the forum name: the site's host, lower-cased
    folder: Path
    origin: Path  # the folder or archive as given

    def file(self, name: str) -> Path | None:
        """The dump file ``name`` when the dump has it."""
        path = self.folder / name
        return path if path.is_file() else None


def is_site_dump(path: Path) -> bool:
    """A folder holding Posts.xml, or a ``.7z`` archive."""
    path = Path(path)
    return (path.is_dir() and (path / "Posts.xml").is_file()) or path.suffix.lower() == ".7z"


def site_name(path: Path, site: str | None) -> str:
    """The site's host: ``site`` when given, else the folder's or archive's name when it is a host
    (``quantumcomputing.stackexchange.com``, ``mathoverflow.net``)."""
    if site:
        return site.lower()
    name = Path(path).name.lower().removesuffix(".7z")
    if "." in name:
        return name
    raise NotASiteDump(
        f"cannot tell which site {path} is: name the folder after the site's host "
        "(e.g. quantumcomputing.stackexchange.com) or set [source.stackexchange] site "
        "(communitybench ingest --site HOST)"
    )


def check_site_dump(path: Path) -> None:
    """Raise FileNotFoundError when ``path`` is neither a dump folder nor an archive."""
    path = Path(path)
    if path.suffix.lower() == ".7z":
        if not path.is_file():
            raise FileNotFoundError(f"Stack Exchange archive not found: {path}")
    elif not (path / "Posts.xml").is_file():
        raise FileNotFoundError(
            f"{path / 'Posts.xml'} is missing: a Stack Exchange dump folder holds Posts.xml "
            "(and Votes.xml, Comments.xml when present)"
        )


def open_site_dump(path: Path, *, site: str | None, work_dir: Path) -> SiteDump:
    """The site dump at ``path``; an archive is extracted into ``work_dir/<archive name>/``."""
    path = Path(path)
    check_site_dump(path)
    name = site_name(path, site)
    if path.suffix.lower() != ".7z":
        return SiteDump(site=name, folder=path, origin=path)
    return SiteDump(site=name, folder=extract(path, Path(work_dir) / path.stem), origin=path)


def extract(archive: Path, folder: Path) -> Path:
    """Extract the XML files the ingest reads (once: a marker records a finished extraction)."""
    import py7zr  # imported here: only archives need it

    marker = folder / EXTRACT_MARKER
    stamp = f"{archive.stat().st_size}:{archive.stat().st_mtime_ns}"
    if marker.is_file() and marker.read_text() == stamp:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with py7zr.SevenZipFile(archive, mode="r") as seven:
        names = seven.getnames()
    wanted = [n for n in names if Path(n).name in FILES]
    if not any(Path(n).name == "Posts.xml" for n in wanted):
        raise NotASiteDump(f"{archive} holds no Posts.xml: not a Stack Exchange site dump")
    for name in wanted:  # one member at a time: py7zr keeps no more than it writes
        with py7zr.SevenZipFile(archive, mode="r") as seven:
            seven.extract(path=folder, targets=[name])
        extracted = folder / name
        if extracted.parent != folder:  # an archive with a top folder: flatten it
            extracted.replace(folder / extracted.name)
    marker.write_text(stamp)
    return folder
