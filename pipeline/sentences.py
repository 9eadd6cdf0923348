"""Sentence splitting, the gate that keeps bad sentences out of summaries, and support tests.

Why our own splitter: pysbd handles abbreviations, decimals and quotes well but
costs about 20 ms per 1,200-character article (a ten-article story would spend
the whole 50 ms summary budget splitting) and misses boundaries glued by
extraction ("window.Meta said"). News text needs few rules: a boundary is
terminal punctuation (plus closing quotes) followed by space and a capital, a
digit or an opening quote, unless the word before is an abbreviation. Decimals
and model names ("GPT-4.5", "Claude 3.5 Sonnet") never qualify because no space
follows their dot; "U.S." and "Inc." end a sentence only when a function word
("The", "It", ...) starts the next one; "Dr." and initials never do.

A summary sentence must stand alone, so ``reject_reason`` names why a sentence
cannot: boilerplate (bylines, newsletter pleas, image credits), fragments
(no end punctuation, too short, truncated), and sentences that lean on their
neighbours ("But ...", "He added ...", a pronoun with no name before it).

``support`` measures how much of a claim a source text states: the share of
the claim's content words, weighted by rarity (wordfreq), found within a
window of up to three consecutive source sentences. It backs both citation
merging and citation checks.
"""

from __future__ import annotations

import heapq
import html
import math
import re
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import fuzz, process
from wordfreq import get_frequency_dict


def _wordset(words: str) -> frozenset[str]:
    """A word table written as prose-like text, one space between entries."""
    return frozenset(words.split())


# Abbreviations that never end a sentence: titles before a name, "e.g.", "vs.".
_NEVER_FINAL = _wordset(
    "mr mrs ms dr prof sr jr st gen gov sen rep lt col capt cmdr sgt mt ft "
    "vs e.g i.e cf approx dept fig no nos vol op rev hon pres supt messrs"
)
# Abbreviations that end a sentence only when a function word follows.
_MAYBE_FINAL = _wordset(
    "inc corp ltd co llc plc bros etc jan feb mar apr jun jul aug sep sept oct nov dec "
    "a.m p.m u.s u.k u.n e.u u.s.a d.c n.y l.a al ph.d"
)
_STOPWORDS = _wordset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most my myself no nor not now of off on
    once only or other our ours out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would
    you your yours yourself yourselves said says say according new one two also s t"""
)
_BOUNDARY = re.compile(
    r"""(?P<end>[.!?…]+)(?P<close>["'”’)\]]*)\s+(?=(?P<next>["'“‘(\[]?(?:[A-Z0-9]|[a-z][A-Z])))"""
)
_GLUED = re.compile(r"(?<=[a-z]{3}[.!?])(?=[A-Z][a-z]{2})")  # "window.Meta said"
_WORD_BEFORE = re.compile(
    r"(?:^|[\s(\[\"'“‘])([A-Za-z][A-Za-z.]*)$"
)  # whole word, not GPT-4o's "o"
_DATELINE = re.compile(  # "SAN FRANCISCO (Reuters) - ", "BRUSSELS, Dec 19 (Meridian) - "
    r"^[A-Z][A-Z .'/-]{2,40}(?:,\s*[A-Z][a-z]{2,8}\.? \d{1,2})?\s*(?:\([^)]{1,30}\))?"
    r"\s*[-—–]{1,2}\s+(?=[A-Z])"
)
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATE_PREFIX = re.compile(  # "April 9, 2012 Despite ...", "22 Jul 2013, 2:21 pm BST A fire ..."
    rf"^(?:{_MONTH} \d{{1,2}},? \d{{4}}|\d{{1,2}} {_MONTH},? \d{{4}})"
    r"(?:,? \d{1,2}: ?\d\d ?(?:[ap]\.? ?m\.?)?(?: [A-Z]{2,4})?)?\s+(?=[A-Z\"“])"
)
_TOKEN = re.compile(r"[A-Za-z0-9$€£%][A-Za-z0-9$€£%'’.\-]*[A-Za-z0-9%]|[A-Za-z0-9]")

# Phrases that only occur in page furniture; matched as lower-case substrings (fast).
# Words that also occur in real news ("copyright", "subscribe", "privacy policy",
# "cookies", "commission") are deliberately absent: AI news is full of them.
_BOILERPLATE_PHRASES = (
    "sign up for our",
    "sign up here",
    "sign up now",
    "sign up to receive",
    "subscribe to our",
    "subscribe now",
    "our newsletter",
    "this newsletter",
    "to your inbox",
    "read more",
    "read the full",
    "continue reading",
    "click here",
    "follow us",
    "share this",
    "all rights reserved",
    "image credit",
    "photo credit",
    "getty images",
    "shutterstock",
    "photo by",
    "image by",
    "illustration by",
    "appeared first on",
    "originally published",
    "originally appeared",
    "advertisement",
    "sponsored content",
    "affiliate link",
    "affiliate commission",
    "we may earn",
    "editor's note",
    "editor’s note",
    "reporting by",
    "editing by",
    "writing by",
    "min read",
    "contact us",
    "send us a tip",
    "related articles",
    "don't miss",
    "don’t miss",
    "listen to this article",
    "this story was updated",
    "this article was updated",
    "this story has been updated",
    "enable javascript",
    "accept cookies",
    "cookie policy",
    "cookie settings",
    "©",
    "http://",
    "https://",
    "www.",
)
_BOILERPLATE_START = re.compile(
    r"""(?ix)^(?:written\ by|posted\ by|photo|image|credit|source|related|caption|watch|
    listen|also\ read|see\ also)\s*[:|]
    |^by\ [A-Z][\w'’-]+\ [A-Z][\w'’-]+(?:\s*(?:,|\||and\b|$))
    |^(?:updated|published|posted)(?:\ on|\ at)?:?\ +(?:\d|[A-Z][a-z]{2}\.?\ \d)""",
)
_UPPER = re.compile("[A-Z]")
_LETTER = re.compile("[A-Za-z]")
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_CONNECTIVE = re.compile(
    r"""(?ix)^["“]?(but|and|or|so|yet|however|also|still|meanwhile|moreover|furthermore|
    instead|nevertheless|nonetheless|additionally|then|thus|therefore|otherwise|likewise|
    similarly|besides|indeed|anyway|hence|in\ addition|as\ a\ result|on\ the\ other\ hand|
    at\ the\ same\ time|by\ contrast|in\ contrast|even\ so|for\ example|for\ instance|
    after\ that|that\ said|to\ be\ sure|of\ course|in\ turn|as\ such|the\ former|the\ latter|
    the\ same|another|both|either|neither|here|there\ (?:he|she|they)|such)\b""",
)
_PRONOUN_OPENER = re.compile(  # outside a quote: '"We are excited," said Altman' is fine
    r"(?i)^(he|she|it|they|this|that|these|those|his|her|its|their|them|him|we|i|"
    r"you|our|my)\b(?!-)"
)
_DANGLING = re.compile(r"(?i)\b(he|she|they|his|her|their|him|them)\b")
# Evidence of a finite verb, without a tagger: auxiliaries and the present-tense
# verbs news leans on, any -ed/-ing form, or an -s form right after a name or
# pronoun ("Nvidia makes ..."). A dek like "Half the price, 1.7x the speed" has none.
_VERBS = _wordset(
    """is are was were be been being has have had do does did will would can could may
    might must shall should says say said tells asks adds makes takes gets wins leads plans
    wants needs uses shows runs matters tracks comes gives puts sees calls keeps offers sells
    costs means remains seems looks works beats raises launches releases announces faces hits
    lets warns claims reports includes requires expects allows helps brings becomes holds
    stands reaches sets goes knows thinks believes argues suggests finds buys pays owns builds
    opens closes starts ends rises falls grows cuts drops lands joins backs signs plays"""
)
_VERB_FORM = re.compile(
    r"\b[a-z]+[a-df-z]ed\b|\b[a-z]{3,}ing\b"  # "sued", "released", "running"; not "speed"
    r"|\b(?:[A-Z][\w'’-]*|[0-9][\w.]*|he|she|it|they)\s+[a-z]{2,}s\b"  # "Nvidia makes"
)
_NOT_NAMES = _wordset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may "
    "june july august september october november december i the a an in on at for after "
    "before last next earlier later"
)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences; paragraph breaks always end a sentence.

    Leading datelines ("SAN FRANCISCO (Reuters) - ") are dropped, since they
    are not part of what the sentence says.
    """
    return [s for paragraph in text.split("\n") for s in _split_paragraph(paragraph)]


@lru_cache(maxsize=8192)
def _split_paragraph(paragraph: str) -> tuple[str, ...]:
    """Cached per paragraph: an article is split as a candidate and again as a source."""
    paragraph = _GLUED.sub(" ", " ".join(paragraph.split()))
    sentences = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        if _is_boundary(paragraph, match):
            sentences.append(paragraph[start : match.end("close")])
            start = match.end()
    sentences.append(paragraph[start:])
    cleaned = (_DATELINE.sub("", _DATE_PREFIX.sub("", s)).strip() for s in sentences)
    return tuple(s for s in cleaned if s)


def _is_boundary(paragraph: str, match: re.Match[str]) -> bool:
    """Whether a candidate boundary really ends a sentence (abbreviation rules)."""
    if match.group("end") != ".":
        return True
    word = _WORD_BEFORE.search(paragraph[max(0, match.start("end") - 24) : match.start("end")])
    if word is None:
        return True
    before = word.group(1).lower()
    following = paragraph[match.end() :].lstrip("\"'“‘([").split(" ", 1)[0]
    if before in _NEVER_FINAL or re.fullmatch(r"[a-z]", before):
        return False  # "Dr. Jones", "John F. Kennedy"
    if before in _MAYBE_FINAL or "." in before:
        return following.lower().strip(",;:") in _STOPWORDS  # "in the U.S. The company"
    return True


def reject_reason(sentence: str, min_words: int = 6) -> str | None:
    """Why ``sentence`` cannot stand alone in a summary, or None when it can.

    ``min_words`` is lower for a title standing in for a headline-only article.
    """
    words = sentence.split()
    lowered = sentence.lower()
    if (
        any(phrase in lowered for phrase in _BOILERPLATE_PHRASES)
        or _BOILERPLATE_START.match(sentence)
        or ("@" in sentence and _EMAIL.search(sentence))
    ):
        return "boilerplate"
    if len(words) < min_words:
        return "fragment: too short"
    if len(words) > 60:
        return "fragment: too long"
    if "…" in sentence or "[...]" in sentence or "[…]" in sentence or sentence.endswith(".."):
        return "fragment: truncated"
    if not re.search(r"""[.!]["'”’)]*$""", sentence):
        return "fragment: no end punctuation"
    if not re.match(r"""["“'‘]?[A-Z0-9]|[a-z][A-Z]""", sentence):
        return "fragment: starts mid-sentence"
    if _unbalanced(sentence):
        return "fragment: unbalanced quotes or brackets"
    if len(_UPPER.findall(sentence)) > 0.5 * len(_LETTER.findall(sentence)):
        return "fragment: shouting"
    if not has_verb(sentence):
        return "fragment: no verb"
    if _CONNECTIVE.match(sentence):
        return "needs context: connective opener"
    if _PRONOUN_OPENER.match(sentence):
        return "needs context: pronoun opener"
    if _dangling_pronoun(words):
        return "needs context: pronoun without antecedent"
    return None


def has_verb(text: str) -> bool:
    """Whether the text shows a finite verb (a heuristic: see ``_VERBS``)."""
    if _VERB_FORM.search(text):
        return True
    return any(word in _VERBS for word in re.findall(r"[a-z]+", text.lower()))


def _unbalanced(sentence: str) -> bool:
    straight = sentence.count('"') % 2 == 1
    curly = sentence.count("“") != sentence.count("”")
    return straight or curly or sentence.count("(") != sentence.count(")")


def _dangling_pronoun(words: list[str]) -> bool:
    """A personal pronoun before any name ("On Friday, he said ...") has no antecedent."""
    for index, word in enumerate(words):
        bare = word.strip("\"'“”‘’,.;:()")
        if _DANGLING.fullmatch(bare):
            return True
        if index > 0 and bare[:1].isupper() and bare.lower() not in _NOT_NAMES:
            return False
    return False


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens; possessives dropped, model names and numbers kept whole."""
    found = (t.lower().rstrip(".'’") for t in _TOKEN.findall(text))
    return [t[:-2] if t.endswith(("'s", "’s")) else t for t in found if t]


@lru_cache(maxsize=65536)
def _term(token: str) -> tuple[str, float] | None:
    """A token's stem and rarity weight, or None for a stop word.

    Stemming is truncation: inflections share a 6-letter prefix ("released",
    "releases"); numbers and model names stay whole. The weight is a
    corpus-independent IDF from wordfreq; numbers weigh like rare words.
    """
    if token in _STOPWORDS or len(token) < 2:
        return None
    if any(c.isdigit() for c in token):
        return token, 4.0
    return token[:6], min(6.0, max(0.5, 7.5 - _zipf(token)))


def _zipf(word: str) -> float:
    """wordfreq's Zipf scale (log10 of frequency per billion words), read from its table.

    ``wordfreq.zipf_frequency`` re-tokenizes every word (~20 µs a call), which
    was half the time of a summary; the table lookup is ~1 µs. A compound
    missing from the table ("eight-year") is as common as its rarest part.
    """
    table = _frequencies()
    frequency = table.get(word) or min((table.get(p, 0.0) for p in word.split("-") if p), default=0)
    return math.log10(frequency) + 9 if frequency > 0 else 0.0


@lru_cache(maxsize=1)
def _frequencies() -> dict[str, float]:
    return dict(get_frequency_dict("en"))


def content_terms(text: str) -> dict[str, float]:
    """Stems of the content words in ``text`` with their rarity weights."""
    return dict(_terms(text))


@lru_cache(maxsize=16384)
def _terms(text: str) -> tuple[tuple[str, float], ...]:
    """Cached analysis: a sentence is scored and then searched as a source window."""
    found = (_term(t) for t in tokens(text))
    return tuple(dict(t for t in found if t is not None).items())


def support(claim: str, source_text: str, span: int = 3, at_least: float = 0.0) -> float:
    """Weighted share of the claim's content words found in one window of the source.

    A window is ``span`` consecutive source sentences (three lets a sentence
    that fuses neighbouring facts count as supported; one asks for a single
    sentence saying the same). A word missing by stem may still match a
    source word spelled nearly the same (rapidfuzz ratio ≥ 83 on stems, for
    words of five letters or more); numbers must match exactly, and a window
    that lacks one of the claim's figures counts half, so a changed figure
    reads as unsupported. A caller that only needs to know whether
    support reaches ``at_least`` gets 0.0 early when the claim's words in the
    whole source (spelling variants aside) cannot reach it.
    """
    claim_terms = _terms(claim)
    total = sum(w for _, w in claim_terms)
    sentences, index = _source_index(source_text)
    if total == 0 or not sentences:
        return 0.0
    if sum(w for t, w in claim_terms if t in index) < at_least * total:
        return 0.0
    exact = [0.0] * len(sentences)  # window i = sentences i .. i + span - 1
    figures = [0] * len(sentences)  # how many of the claim's numbers each window holds
    for term, term_weight in claim_terms:
        positions: Iterable[int] = index.get(term, ())
        if span > 1:
            positions = {w for p in positions for w in range(max(0, p - span + 1), p + 1)}
        for start in positions:
            exact[start] += term_weight
            figures[start] += not term.isalpha() and any(c.isdigit() for c in term)
    numbers = sum(any(c.isdigit() for c in t) for t, _ in claim_terms)
    # A window missing one of the claim's figures counts half: "$9 billion" is not "$1 billion".
    exact = [e if f == numbers else e / 2 for e, f in zip(exact, figures, strict=True)]
    best = max(exact)
    if best >= total or best < 0.3 * total:
        return best / total  # complete, or too far apart for spelling variants to matter
    # Fuzzy matching is slower, so only the three windows closest by exact match get it.
    for start in heapq.nlargest(3, range(len(exact)), key=exact.__getitem__):
        window = frozenset().union(*sentences[start : start + span])
        found = exact[start]
        for term, term_weight in claim_terms:
            if (
                term not in window
                and len(term) >= 5
                and term.isalpha()
                and process.extractOne(term, window, scorer=fuzz.ratio, score_cutoff=83)
            ):
                found += term_weight
        best = max(best, found)
    return best / total


@lru_cache(maxsize=1024)
def _source_index(
    source_text: str,
) -> tuple[tuple[frozenset[str], ...], dict[str, tuple[int, ...]]]:
    """The stems of each source sentence, and stem → the sentences holding it."""
    sentences = tuple(frozenset(t for t, _ in _terms(s)) for s in split_sentences(source_text))
    index: dict[str, list[int]] = {}
    for position, stems in enumerate(sentences):
        for term in stems:
            index.setdefault(term, []).append(position)
    return sentences, {t: tuple(p) for t, p in index.items()}


_HEADLINE_SEPARATOR = re.compile(r"\s+[|\-–—·•]\s+|\s+::\s+")
_HEADLINE_PREFIX = re.compile(
    r"(?i)^(?:exclusive|breaking(?: news)?|updated?|watch|video|listen|opinion|analysis|"
    r"live|just in|report|sponsored)\s*[:|\-–—]\s*"
)
_HEADLINE_TAG = re.compile(
    r"(?i)\s*[\[(](?:video|photos?|watch|updated?|exclusive|podcast|live|sponsored|ad|"
    r"gallery|infographic)[\])]\s*$"
    r"|\s*\([^()]*(?:[!?]|\d{4}\.\d{4,5})[^()]*\)\s*$"  # "(WOW!!)", "(arXiv:2412.12863v1 [cs.CV])"
)
_CLICKBAIT = re.compile(
    r"""(?ix)(?:\s*[-–—:,;.]\s*|\s+)(?:and\ )?(?:
    here'?s\ (?:why|what|how|the\ (?:catch|reason|deal))|you\ won'?t\ believe|
    what\ (?:you|it)\ (?:need|means|could\ mean)|find\ out|(?:the\ answer|it)\ (?:may|will)\ surprise|
    this\ is\ (?:why|how|what)|(?:it'?s|that'?s)\ (?:a\ )?(?:big|huge)\ deal|
    (?:see|watch|read)\ (?:it|here|now|why)|everything\ (?:you|we)\ know|
    you\ need\ to\ know|explained|and\ more|wow|omg)\b[^|]*$"""
)
_ACRONYMS = _wordset(
    "AI AGI API CEO CTO CFO COO GPU CPU TPU NPU LLM LLMS US UK EU UN FTC SEC DOJ FDA FCC NASA "
    "IBM AMD ARM MIT NIST OECD IPO VC AWS GPT NLP RAG SDK USA AR VR XR PC TV CES WWDC HBM ML RL "
    "NYT BBC CNN NBC AP UAE FBI CIA NSA DOD DOE NATO OPEC UNESCO WHO"
)


@lru_cache(maxsize=4096)
def clean_headline(title: str, outlet: str = "") -> str:
    """A title without site suffixes, tag prefixes, trailing clickbait or shouting.

    The last " - X" / " | X" segment goes when it names the outlet or looks
    like a site name (at most three capitalised words or a domain) and enough
    title remains; all-caps common words are lowered, and a title that is
    shouted throughout is put in sentence case, keeping acronyms ("AI", "GPU").
    """
    text = " ".join(html.unescape(html.unescape(title)).split()).strip("\"'“”")
    text = _HEADLINE_PREFIX.sub("", _HEADLINE_PREFIX.sub("", text))
    for _ in range(2):
        parts = _HEADLINE_SEPARATOR.split(text)
        if len(parts) > 1 and _is_site_name(parts[-1], outlet) and len(parts[-2].split()) >= 2:
            text = text[: text.rfind(parts[-1])].rstrip(" |-–—·•:")
        text = _HEADLINE_TAG.sub("", text)
    unbaited = _CLICKBAIT.sub("", text)
    if len(unbaited.split()) >= 3:
        text = unbaited
    text = re.sub(r"[!?]{2,}$|!$", "", text).rstrip(" ,:;-–—")
    if not re.search(r"\b[A-Z]\.[A-Z]\.$", text):  # keep the dot of "U.S."
        text = text.rstrip(".")
    return _unshout(text)


def _is_site_name(segment: str, outlet: str) -> bool:
    words = segment.split()
    if outlet and (
        segment.casefold() in outlet.casefold()
        or outlet.casefold() in segment.casefold()
        or fuzz.ratio(segment.casefold(), outlet.casefold()) >= 80
    ):
        return True
    if re.fullmatch(r"(?:www\.)?[\w-]+\.(?:com|org|net|io|ai|co|news|tech)(?:\.\w\w)?", segment):
        return True
    return 0 < len(words) <= 3 and all(w[:1].isupper() or w[:1].isdigit() for w in words)


def _unshout(text: str) -> str:
    if not re.search("[A-Z]{2}", text):
        return text[:1].upper() + text[1:]
    words = text.split(" ")
    caps = [w for w in words if re.fullmatch(r"[A-Z][A-Z'’]+[!?,:]?", w)]
    shouting = len(caps) >= 0.6 * max(1, sum(bool(re.search(r"[A-Za-z]", w)) for w in words))
    fixed = []
    for word in words:
        core = word.strip("!?,:;'’\"()")
        if (
            not re.fullmatch(r"[A-Z]{2,}(?:['’][A-Z])?", core)
            or core in _ACRONYMS
            or not re.search("[AEIOUY]", core)  # "NHS", "BBC": acronyms, not shouting
        ):
            fixed.append(word)
        elif _zipf(core.lower()) >= 3.5:
            fixed.append(word.lower())
        elif shouting:
            fixed.append(word.capitalize())
        else:
            fixed.append(word)
    result = " ".join(fixed)
    return result[:1].upper() + result[1:]
