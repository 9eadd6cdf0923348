"""Where links point: each page of the site, relative to its root, and each source.

One definition shared by the site (its own links), the Atom feed and the
email (absolute links through ``SiteParams.absolute``). Paths name
``index.html`` explicitly because ``file://`` does not resolve folders.
"""

from __future__ import annotations

from datetime import date

from ..models import RankedStory
from ..sanitize import safe_url


def day_path(day: date) -> str:
    """Site path of a day's page."""
    return f"{day:%Y/%m/%d}/index.html"


def story_page(slug: str) -> str:
    """Site path of a story's permanent page (``slug`` from ``editions.page_slug``)."""
    return f"stories/{slug}.html"


def slug_of(page: str) -> str:
    """The slug back from a permanent page's path."""
    return page.removeprefix("stories/").removesuffix(".html")


def story_path(story: RankedStory) -> str:
    """Where a story's link points: its permanent page (a fallback for digests made before one)."""
    return story.url or story_page(str(story.id))


def day_story_path(day: date, story_id: int) -> str:
    """Where a story's page for one day used to be: now a redirect to its permanent page."""
    return f"{day:%Y/%m/%d}/story-{story_id}.html"


def topic_path(slug: str) -> str:
    """Site path of a topic's page."""
    return f"topics/{slug}.html"


TOPICS_INDEX = "topics/index.html"


def month_path(year: int, month: int) -> str:
    """Site path of a month's archive page."""
    return f"{year:04d}/{month:02d}/index.html"


def source_links(story: RankedStory) -> dict[int, str]:
    """Source number → URL, for the sources whose URL is safe to link (see ``sanitize``)."""
    return {c.number: url for c in story.summary.sources if (url := safe_url(c.url))}
