"""Settings → each stage's parameter object.

Stages declare their knobs as small frozen dataclasses with defaults, so they
can be used and tested without the settings; this is the one place that fills
them in from ``Settings``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .cluster import ClusterParams
from .config import Settings, split_list
from .digest import DigestParams
from .llm import LLMParams
from .mail import MailParams
from .rank import RankParams
from .referee import LLMReferee
from .relevance import RelevanceParams
from .render.site import SiteParams

if TYPE_CHECKING:
    from .review import ReviewParams


def for_cluster(settings: Settings) -> ClusterParams:
    return replace(ClusterParams(), window_hours=settings.cluster_window_hours)


def for_rank(settings: Settings) -> RankParams:
    """Ranking, section and relevance knobs, with the mute rules."""
    gate = replace(
        RelevanceParams(),
        threshold=settings.relevance_threshold,
        mute_terms=split_list(settings.mute_terms),
        mute_phrases=split_list(settings.mute_phrases),
        mute_sources=split_list(settings.mute_sources),
    )
    return replace(RankParams(), half_life_h=settings.half_life_hours, relevance=gate)


def for_llm(settings: Settings) -> LLMParams:
    return LLMParams(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key_env=settings.llm_api_key_env,
        timeout_s=settings.llm_timeout_s,
    )


def for_referee(settings: Settings) -> LLMReferee | None:
    """The referee of borderline joins (``pipeline.referee``), or None when it is off."""
    return LLMReferee(for_llm(settings)) if settings.referee == "llm" else None


def for_digest(settings: Settings, limit: int | None = None) -> DigestParams:
    """When the day's digest is published and how many stories it holds (``limit`` overrides)."""
    return DigestParams(
        timezone=settings.timezone,
        publish_time=settings.publish_time,
        limit=settings.digest_limit if limit is None else limit,
    )


def for_site(settings: Settings) -> SiteParams:
    return SiteParams(title=settings.site_title, base_url=settings.site_url)


def for_mail(settings: Settings) -> MailParams:
    return MailParams(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        user=settings.smtp_user,
        password_env=settings.smtp_password_env,
        sender=settings.mail_from,
        recipients=split_list(settings.mail_to),
        unsubscribe=settings.unsubscribe,
    )


def for_review(settings: Settings) -> ReviewParams:
    # Imported here: the web stack loads only when the desk runs, and review imports run.
    from .review import ReviewParams

    return ReviewParams(
        secret_env=settings.review_secret_env,
        session_hours=settings.review_session_hours,
        https_only=settings.review_https_only,
    )
