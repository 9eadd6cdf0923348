"""An editor's summary as text, and the citation checks it must pass before it is saved.

In the edit form a summary is two text boxes, the lead and the key points,
one sentence per line with its source numbers written as markers, exactly as
published: ``OpenAI released o3 today. [1][2]``. Numbers refer to the
story's current sources (``summarize.number_sources``), listed beside the form.

The checks are ``summarize.verify_citations``, the one both summarizers pass:
a number that names no source, or a sentence with no number, refuses the
save; a cited source whose text does not seem to state the sentence is only
a warning, since an editor may paraphrase.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from ..models import Article, Citation, Summary, SummarySentence
from ..summarize import number_sources, source_texts, verify_citations

_MARK = re.compile(r"\[\s*(\d{1,4})\s*\]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")
_PARTS = {"lead": "Lead", "points": "Key points"}


def to_text(sentences: Sequence[SummarySentence]) -> str:
    """One sentence per line, markers after the text, as the form shows them."""
    return "\n".join(s.render() for s in sentences)


def parse(text: str) -> tuple[SummarySentence, ...]:
    """Sentences from the form: each non-empty line, its ``[n]`` markers taken out as citations."""
    found = []
    for line in text.splitlines():
        numbers = sorted({int(n) for n in _MARK.findall(line)})
        words = " ".join(_MARK.sub(" ", line).split())
        words = _SPACE_BEFORE_PUNCT.sub(r"\1", words)
        if words or numbers:
            found.append(SummarySentence(words, tuple(numbers)))
    return tuple(found)


def renumber(summary: Summary, sources: Sequence[Citation]) -> Summary:
    """The summary cited against ``sources`` (the story's sources now), matched by article.

    A stored summary numbers the sources the story had when it was made; after
    a merge or a split the same outlet can have another number, or be gone
    (its markers are dropped, so the checks point the editor at the sentence).
    """
    owner = {a: c.number for c in sources for a in c.article_ids}
    mapping: dict[int, int] = {}
    for old in summary.sources:
        new = next((owner[a] for a in old.article_ids if a in owner), None)
        if new is not None:
            mapping[old.number] = new

    def cite(s: SummarySentence) -> SummarySentence:
        return SummarySentence(
            s.text, tuple(sorted({mapping[n] for n in s.citations if n in mapping}))
        )

    return replace(
        summary,
        lead=tuple(cite(s) for s in summary.lead),
        points=tuple(cite(s) for s in summary.points),
        sources=tuple(sources),
    )


def compose(base: Summary | None, members: Sequence[Article], lead: str, points: str) -> Summary:
    """The summary an editor wrote, numbered against the story's current sources."""
    return Summary(
        headline=base.headline if base else "",
        lead=parse(lead),
        points=parse(points),
        sources=number_sources(members),
        method=base.method if base else "extractive",
    )


def check(summary: Summary, members: Sequence[Article]) -> tuple[list[str], list[str]]:
    """(errors that refuse the save, warnings shown after it), in words for the editor."""
    errors: list[str] = []
    warnings: list[str] = []
    if not summary.lead:
        errors.append("The lead needs at least one sentence.")
    count = len(summary.sources)
    texts = source_texts(members, summary.sources)
    for problem in verify_citations(summary, texts):
        where = f"{_PARTS.get(problem.part, problem.part)}, sentence {problem.index + 1}"
        if problem.reason == "no such source":
            errors.append(
                f"{where}: [{problem.number}] names no source; this story has {count} (1–{count})."
            )
        elif problem.reason == "no citation":
            errors.append(f"{where}: every sentence needs at least one source number, like [1].")
        elif problem.number is None:
            errors.append(f"{where}: {problem.reason}.")
        else:
            warnings.append(f"{where}: source [{problem.number}] may not state this.")
    return errors, warnings
