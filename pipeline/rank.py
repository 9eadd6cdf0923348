"""A score per story with a readable explanation, its section, and its AI relevance.

The score says how much a story matters today, from what anyone can check:

    value = Σ outlet weights × 0.5^(age / half-life) × (1 + velocity_bonus × recent share)

where each distinct outlet counts once with its weight (copies fold into the
article they copy), age runs from the story's first article, and the recent
share is the fraction of its outlets that published within the last
``velocity_window_h`` hours (a story still gathering coverage is "rising").
Editors decide last: a pinned story is placed above every other (its value
gets ``PINNED_BASE``), a rejected one gets 0 and is never included.

Sections come from a rule set as open as the relevance vocabulary: weighted
cue terms per section (``SECTION_CUES``), scored like relevance (mean over
the story's articles), plus priors from source tags (``TAG_PRIORS``: an
arXiv-tagged source leans to research) weighted by the share of articles
from such sources. The highest score wins if it reaches ``section_min``,
else the story goes to "other". Ties go to the section listed first in
``SECTIONS`` (safety, policy, research, open source, business, models), the
more specific before the more general.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .models import Article
from .relevance import Relevance, RelevanceParams, Vocabulary, judge, story_text
from .summarize import number_sources

PINNED_BASE = 1000.0

# Section id → label, in tie-breaking order.
SECTIONS: Mapping[str, str] = {
    "safety": "Safety",
    "policy": "Policy & regulation",
    "research": "Research",
    "open-source": "Open source",
    "business": "Business & funding",
    "models": "Models & products",
    "other": "Other",
}

SECTION_CUES: Mapping[str, Mapping[str, float]] = {
    "safety": {
        "safety": 2.0,
        "alignment": 2.5,
        "misuse": 2.0,
        "jailbreak*": 2.5,
        "red team*": 2.5,
        "red-team*": 2.5,
        "harmful": 2.0,
        "dangerous": 1.5,
        "risk": 1.0,
        "deception": 2.0,
        "deceptive": 2.0,
        "safety institute": 3.0,
        "catastrophic": 2.0,
        "guardrail": 2.0,
        "bioweapon": 2.0,
        "interpretability": 2.0,
        "evaluation": 1.0,
    },
    "policy": {
        "regulation": 3.0,
        "regulator": 2.5,
        "regulatory": 2.5,
        "law": 2.0,
        "legislation": 3.0,
        "bill": 1.5,
        "senate": 2.0,
        "congress": 2.0,
        "parliament": 2.0,
        "commission": 1.5,
        "government": 1.5,
        "ministry": 2.0,
        "policy": 2.0,
        "comply": 2.0,
        "compliance": 2.0,
        "code of practice": 3.0,
        "executive order": 3.0,
        "ai act": 3.0,
        "ban": 1.5,
        "lawsuit": 2.0,
        "court": 2.0,
        "copyright": 1.5,
        "antitrust": 2.5,
        "consultation": 2.0,
        "attorney* general": 2.5,
        "white house": 2.5,
    },
    "research": {
        "paper": 2.5,
        "arxiv": 3.0,
        "researchers": 1.5,
        "study": 1.5,
        "preprint": 2.0,
        "university": 1.0,
        "findings": 1.0,
        "experiment*": 1.0,
        "dataset": 1.0,
        "neurips": 2.0,
        "icml": 2.0,
        "iclr": 2.0,
        "benchmark": 1.0,
        "we propose": 2.5,
        "we show": 2.0,
        "method": 1.0,
    },
    "open-source": {
        "open source": 3.0,
        "open-source": 3.0,
        "open weights": 3.0,
        "open-weight*": 3.0,
        "apache 2.0": 2.5,
        "mit license": 2.5,
        "github": 2.0,
        "hugging face": 2.0,
        "checkpoint": 1.5,
        "permissive": 1.5,
        "weights": 1.0,
        "licence": 1.0,
        "license": 1.0,
    },
    "business": {
        "funding": 3.0,
        "raises": 2.0,
        "raised": 2.0,
        "series": 1.5,
        "valuation": 3.0,
        "valued": 2.0,
        "investor": 2.0,
        "investment": 2.0,
        "revenue": 2.0,
        "acquisition": 3.0,
        "acquire*": 3.0,
        "ipo": 3.0,
        "shares": 2.0,
        "stock": 1.5,
        "earnings": 2.5,
        "deal": 1.5,
        "venture": 2.0,
        "startup": 1.0,
        "layoffs": 2.0,
        "profit": 2.0,
        "billion": 1.0,
    },
    "models": {
        "release*": 1.5,
        "launch*": 1.5,
        "model": 1.0,
        "available": 1.0,
        "rolls out": 1.5,
        "rolling out": 1.5,
        "app": 1.0,
        "feature": 1.0,
        "api": 1.5,
        "price": 1.0,
        "pricing": 1.5,
        "developer kit": 1.5,
        "version": 1.0,
        "upgrade": 1.0,
        "product": 1.5,
        "chatbot": 1.0,
        "assistant": 1.0,
        "preview": 1.0,
        "waitlist": 1.5,
        "introduc*": 1.5,
    },
}

# Source tag → (section, prior added in proportion to the story's articles from such sources).
TAG_PRIORS: Mapping[str, tuple[str, float]] = {
    "arxiv": ("research", 6.0),
    "research": ("research", 4.0),
    "lab": ("research", 1.0),
    "policy": ("policy", 2.0),
    "safety": ("safety", 2.0),
    "business": ("business", 1.5),
    "funding": ("business", 2.0),
    "open-source": ("open-source", 2.0),
}


@dataclass(frozen=True, slots=True)
class RankParams:
    """Knobs of the score, the section rules and the relevance gate."""

    half_life_h: float = 18.0
    velocity_window_h: float = 6.0
    velocity_bonus: float = 0.5
    high_weight: float = 0.8  # outlets at or above this weight are named in the explanation
    section_cues: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: {s: dict(c) for s, c in SECTION_CUES.items()}
    )
    tag_priors: Mapping[str, tuple[str, float]] = field(default_factory=lambda: dict(TAG_PRIORS))
    section_min: float = 2.0
    relevance: RelevanceParams = field(default_factory=RelevanceParams)


@dataclass(frozen=True, slots=True)
class Score:
    """How a story ranks, why, which section it goes in, and whether it is AI news."""

    value: float
    explanation: str
    section: str
    relevance: Relevance
    included: bool = True  # False: rejected by an editor, or left out by relevance/mute rules


def score(
    members: Sequence[Article],
    now: datetime,
    status: str = "auto",
    params: RankParams | None = None,
    *,
    source_tags: Mapping[int, Sequence[str]] | None = None,
) -> Score:
    """Score one story at ``now`` given the editors' ``status`` (auto, approved, pinned, rejected).

    A pinned or approved story is included even if relevance would leave it out: an
    editor's explicit choice wins over a vocabulary; mute rules still apply
    to everything else.
    """
    params = params or RankParams()
    tags = source_tags or {}
    relevance = judge(members, params.relevance, tags)
    section, section_reason = classify(members, params, tags)
    by_id = {a.id: a for a in members}
    outlets = [max(by_id[i].source_weight for i in c.article_ids) for c in number_sources(members)]
    times = [a.when for a in members if a.when is not None]
    age_h = max(0.0, (now - min(times)).total_seconds() / 3600) if times else 0.0
    recent = _recent_outlets(members, now, params.velocity_window_h)
    share = recent / len(outlets) if outlets else 0.0
    value = sum(outlets) * 0.5 ** (age_h / params.half_life_h) * (1 + params.velocity_bonus * share)
    heavy = sum(w >= params.high_weight for w in outlets)
    parts = [
        f"{len(outlets)} outlet{'s' * (len(outlets) != 1)}, {heavy} of weight ≥ {params.high_weight:g}",
        f"first seen {_ago(age_h)}" if times else "publication time unknown",
    ]
    if recent >= 2 and share >= 0.5:
        parts.append(f"rising ({recent} in the last {params.velocity_window_h:g} h)")
    included = relevance.kept
    if status == "pinned":
        value, included = PINNED_BASE + value, True
        parts.insert(0, "pinned by an editor")
    elif status == "rejected":
        value, included = 0.0, False
        parts.insert(0, "rejected by an editor")
    elif status == "approved":
        included = True  # an editor's explicit yes wins over the vocabulary, as a pin does
        parts.insert(0, "approved by an editor")
    elif not relevance.kept:
        parts.append(f"left out: {relevance.reason}")
    parts.append(f"section {SECTIONS.get(section, section)} ({section_reason})")
    return Score(round(value, 4), "; ".join(parts), section, relevance, included)


def classify(
    members: Sequence[Article],
    params: RankParams | None = None,
    source_tags: Mapping[int, Sequence[str]] | None = None,
) -> tuple[str, str]:
    """The story's section and the cues that decided it."""
    params = params or RankParams()
    tags = source_tags or {}
    originals = [a for a in members if a.duplicate_of is None] or list(members)
    weight, words = params.relevance.title_weight, params.relevance.body_words
    scopes = [story_text(a, weight, words) for a in originals]
    totals: dict[str, float] = {}
    cues: dict[str, list[str]] = {}
    order = list(SECTIONS) + [s for s in params.section_cues if s not in SECTIONS]
    for section in order:
        vocabulary = Vocabulary(params.section_cues.get(section, {}))
        found: dict[str, float] = {}
        for scope in scopes:
            for term, part in vocabulary.score(scope)[1].items():
                found[term] = found.get(term, 0.0) + part / len(scopes)
        totals[section] = sum(found.values())
        cues[section] = [t for t, _ in sorted(found.items(), key=lambda f: -f[1])[:3]]
    for article in originals:
        for tag in tags.get(article.source_id, ()):
            if tag in params.tag_priors:
                section, prior = params.tag_priors[tag]
                totals[section] = totals.get(section, 0.0) + prior / len(originals)
                cues.setdefault(section, []).insert(0, f"{tag!r} source")
    best = max(order, key=lambda s: (round(totals.get(s, 0.0), 6), -order.index(s)))
    if totals.get(best, 0.0) < params.section_min:
        return "other", f"no section reached {params.section_min:g}"
    shown = ", ".join(dict.fromkeys(cues[best]))
    return best, f"{totals[best]:.1f}: {shown}"


def _recent_outlets(members: Sequence[Article], now: datetime, window_h: float) -> int:
    """Distinct outlets with an article in the last ``window_h`` hours."""
    return len(
        {
            a.outlet.casefold()
            for a in members
            if a.duplicate_of is None
            and a.when is not None
            and 0 <= (now - a.when).total_seconds() <= window_h * 3600
        }
    )


def _ago(hours: float) -> str:
    if hours < 1:
        return f"{int(hours * 60)} min ago"
    if hours < 48:
        return f"{int(hours)} h ago"
    return f"{int(hours // 24)} days ago"
