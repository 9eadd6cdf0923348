"""Canonical URLs: one spelling per article, so the store's unique key catches copies.

The same article reaches us as ``?utm_source=twitter``, as an AMP page, with a
``#comments`` fragment, through Google's AMP cache, or with its host in upper
case. ``canonicalize`` maps all of these to one string; ``preferred`` picks the
URL to store for a fetched page, trusting its ``<link rel="canonical">`` only
when it is plausible.

courlan (a trafilatura dependency) was checked first. Its ``normalize_url``
lowercases, drops default ports and decodes punycode well, but it keeps
fragments, leaves ``%7e`` and lower-case escapes alone, percent-encodes ``;``
and ``+`` in paths, drops valueless parameters, and its tracker pattern strips
any parameter containing ``source``, ``session``, ``keyword``, ``ga`` or ``gl``
(``?gallery=2`` disappears). Over-stripping is the dangerous direction here:
two different pages sharing one canonical URL means the second is silently
dropped as a duplicate. So the rules below are explicit and conservative, and
courlan is used for what it does right: the registrable domain (public-suffix
aware) behind the same-site checks.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, quote, unquote_plus, urljoin, urlsplit, urlunsplit

from courlan.urlutils import extract_domain

__all__ = ["canonicalize", "host_of", "preferred"]

# Parameters that identify a campaign, click or share, never the page itself.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "igshid", "igsh", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "__hstc", "__hssc",
        "__hsfp", "ref", "ref_src", "ref_url", "spm", "cmpid", "ncid", "ocid", "icid",
        "sr_share", "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3",
        "at_custom4", "guccounter", "guce_referrer", "guce_referrer_sig",
        "__twitter_impression", "s_cid", "sc_cid", "smid", "smtyp", "mkt_tok", "_ga",
        "_gl", "trk", "trkcampaign", "wt.mc_id", "wt_mc", "soc_src", "soc_trk", "vero_id",
        "vero_conv", "oly_anon_id", "oly_enc_id", "rb_clickid", "usqp",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "hsa_", "pk_", "mtm_")
# ``source`` often matters (a search page, a GitHub view), so it is stripped
# only when its value merely says "this came from a feed".
_FEED_MARKER_PARAMS = frozenset({"source", "src"})
_FEED_MARKER_VALUES = frozenset({"rss", "feed", "atom", "rss2", "rssfeed", "feedburner"})

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = "/!$&'()*+,;=:@"
_QUERY_SAFE = "/?!$'()*+,;=:@"
_ESCAPE = re.compile(r"(%[0-9A-Fa-f]{2})")
_BAD_HOST_CHARS = re.compile(r"[\s<>\"{}|\\^`/?#]")
_AMP_SUFFIX = re.compile(r"\.amp(?=(?:\.html?)?$)", re.IGNORECASE)
_AMP_CACHE_PATH = re.compile(r"^/[cvi]/(s/)?([^/]+)(/.*)?$")
_GOOGLE_AMP_PATH = re.compile(r"^/amp/(s/)?([^/]+)(/.*)?$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonicalize(url: str, base: str | None = None) -> str:
    """The one spelling of ``url`` we store and compare; junk comes back stripped.

    Resolves against ``base``, lowercases scheme and host, drops default ports,
    fragments, tracking parameters and AMP markers, sorts the query and
    normalises percent-escapes. Only http(s) URLs are rewritten: anything else
    (``mailto:``, a relative path without base, text) is returned stripped.
    """
    canonical, _ = _canonical(url, base)
    return url.strip() if canonical is None else canonical


def preferred(page_url: str, rel_canonical: str | None) -> str:
    """The URL to store for a fetched page: its rel=canonical when that is plausible.

    Publishers' canonical links are usually right and unify AMP, mobile and
    tracking variants, but some templates point every page at the home page or
    at another site. Those would make unrelated articles collide on one
    canonical URL, so we fall back to the page's own canonicalized URL when the
    link is not http(s), leads to another registrable site (allowed only for
    AMP pages, whose canonical is the publisher's), or is a bare site root while
    the page is not.
    """
    page, page_is_amp = _canonical(page_url)
    if page is None:
        return page_url.strip()
    if not rel_canonical or not rel_canonical.strip():
        return page
    candidate, _ = _canonical(rel_canonical, base=page_url)
    if candidate is None:
        return page
    if _is_site_root(candidate) and not _is_site_root(page):
        return page
    if _site(candidate) != _site(page) and not page_is_amp:
        return page
    return candidate


def host_of(url: str) -> str:
    """Lowercase ASCII host of ``url`` without port or trailing dot; "" when there is none.

    Used for per-host limits and the private-network guard, so it names the
    host actually contacted (no AMP unwrapping) in the same form as
    ``canonicalize`` writes it.
    """
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return _ascii_host(host)


def _canonical(url: str, base: str | None = None) -> tuple[str | None, bool]:
    """The canonical http(s) URL or None, and whether an AMP rule fired."""
    cleaned = re.sub(r"[\t\r\n]", "", url.strip())
    try:
        if base:
            cleaned = urljoin(base.strip(), cleaned)
        parts = urlsplit(cleaned)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return None, False
        netloc = _netloc(parts, scheme)
    except ValueError:
        return None, False
    if netloc is None:
        return None, False
    unwrapped = _unwrap_amp_cache(netloc, parts)
    if unwrapped is not None:
        return _canonical(unwrapped)[0], True
    path = _remove_dot_segments(_normalize_escapes(parts.path, _PATH_SAFE)) or "/"
    userinfo, at, hostport = netloc.rpartition("@")
    amp_host = hostport.startswith("amp.") and _site(f"https://{hostport}/") not in (
        None,
        host_of(f"https://{hostport}/"),
    )
    if amp_host:
        netloc = f"{userinfo}{at}{hostport[4:]}"
    amp_path = _strip_amp_path(path)
    query, amp_query = _clean_query(parts.query)
    is_amp = amp_host or amp_query or amp_path != path
    return urlunsplit((scheme, netloc, amp_path, query, "")), is_amp


def _netloc(parts: SplitResult, scheme: str) -> str | None:
    """Rebuilt ``user@host:port`` in canonical form, or None when there is no usable host."""
    host = parts.hostname or ""
    port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    host = _ascii_host(host)
    if not host or _BAD_HOST_CHARS.search(host):
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    netloc = f"{userinfo}@{host}" if userinfo else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return netloc


def _ascii_host(host: str) -> str:
    """Lowercase host in its on-the-wire (IDNA) form, so both spellings compare equal."""
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _normalize_escapes(part: str, safe: str) -> str:
    """RFC 3986 §6.2.2: decode escaped unreserved characters, upper-case the rest.

    Characters that may not appear literally (spaces, non-ASCII, a stray ``%``)
    are percent-encoded as UTF-8; reserved characters are left as they are,
    because escaping or unescaping them can change what the URL means.
    """
    pieces = _ESCAPE.split(part)
    out = []
    for index, piece in enumerate(pieces):
        if index % 2:  # an escape, thanks to the capturing group
            char = chr(int(piece[1:], 16))
            out.append(char if char in _UNRESERVED else piece.upper())
        else:
            out.append(quote(piece, safe=safe))
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """Resolve ``.`` and ``..`` segments (RFC 3986 §5.2.4), keeping a trailing slash."""
    segments = path.split("/")
    if "." not in segments and ".." not in segments:
        return path
    out: list[str] = []
    for segment in segments:
        if segment == "..":
            if len(out) > 1:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if segments[-1] in (".", ".."):
        out.append("")
    return "/".join(out)


def _strip_amp_path(path: str) -> str:
    """Remove ``amp`` path segments and ``.amp`` suffixes: ``/story/amp/`` → ``/story/``."""
    segments = [s for s in path.split("/") if s.lower() != "amp"]
    stripped = "/".join(segments) or "/"
    return _AMP_SUFFIX.sub("", stripped)


def _clean_query(query: str) -> tuple[str, bool]:
    """Drop trackers and AMP switches, sort by key; also report whether AMP was seen."""
    kept: list[tuple[str, str]] = []
    saw_amp = False
    for pair in query.split("&") if query else ():
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key = unquote_plus(raw_key).lower()
        value = unquote_plus(raw_value).lower()
        if key == "amp" or (key == "outputtype" and value == "amp"):
            saw_amp = True
        elif not _is_tracker(key, value):
            kept.append((key, _normalize_escapes(pair, _QUERY_SAFE)))
    kept.sort(key=lambda item: item[0])
    return "&".join(pair for _, pair in kept), saw_amp


def _is_tracker(key: str, value: str) -> bool:
    """Whether a query parameter only records how the reader arrived."""
    if key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES):
        return True
    return key in _FEED_MARKER_PARAMS and value in _FEED_MARKER_VALUES


def _unwrap_amp_cache(netloc: str, parts: SplitResult) -> str | None:
    """The publisher URL inside a Google AMP cache URL, or None for any other URL."""
    if netloc.endswith(".cdn.ampproject.org"):
        match = _AMP_CACHE_PATH.match(parts.path)
    elif netloc in ("google.com", "www.google.com"):
        match = _GOOGLE_AMP_PATH.match(parts.path)
    else:
        return None
    if match is None or "." not in match[2]:
        return None
    scheme = "https" if match[1] else "http"
    host: str = match[2]
    path: str = match[3] or "/"
    return urlunsplit((scheme, host, path, parts.query, ""))


def _site(url: str) -> str | None:
    """Registrable domain (public-suffix aware), or the bare host for IPs and localhost."""
    domain = extract_domain(url)
    if isinstance(domain, str):
        return domain
    host = host_of(url)
    return host or None


def _is_site_root(url: str) -> bool:
    """Whether ``url`` is a home page: root path and no query."""
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query
