"""Publishing a digest: Markdown and JSON files, the static site, the email.

``render_all`` is what ``run.build_day`` calls after ``digest.select``: it
writes the day's ``YYYY-MM-DD.md`` and ``YYYY-MM-DD.json`` into the digests
folder, then rebuilds the whole site from every JSON file there (the folder is
the archive, so a rebuilt or deleted day is reflected everywhere). The email
is built separately, at send time, by ``email.build_message``.

Modules: ``markdown`` and ``jsonout`` (the files), ``site`` (pages, archive,
sitemap) with ``atom`` (the feed), ``email`` (the message), ``paths`` (where
links point), ``env`` (the autoescaping Jinja2 environment), ``dates`` and
``files`` (atomic writes).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..models import Digest, Topics
from . import jsonout, markdown, site
from .site import SiteParams

__all__ = ["SiteParams", "read_digests", "render_all"]


def render_all(
    digest: Digest,
    digests_dir: Path,
    site_dir: Path,
    params: SiteParams,
    merged: Mapping[int, int] | None = None,
    topics: Topics | None = None,
) -> list[Path]:
    """Write the day's Markdown and JSON, rebuild the site; every path written or kept.

    ``merged`` (story id → the story that took its articles) turns merged
    stories' pages into redirects; ``topics`` names the stories' topics.
    """
    digests_dir = Path(digests_dir)
    written = [
        markdown.write(digest, digests_dir, params.title),
        jsonout.write(digest, digests_dir),
    ]
    return written + site.build(read_digests(digests_dir), Path(site_dir), params, merged, topics)


def read_digests(digests_dir: Path) -> list[Digest]:
    """Every digest in the folder (files named ``YYYY-MM-DD.json``), oldest first."""
    return [
        jsonout.read(path) for path in sorted(Path(digests_dir).glob("[0-9]*-[0-9]*-[0-9]*.json"))
    ]
