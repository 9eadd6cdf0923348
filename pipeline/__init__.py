"""AI-news digest pipeline: fetch feeds, cluster articles into stories, publish a cited digest.

The public API: the values passed between stages, the settings, the store,
and the orchestrator's entry points. Everything else is internal.
"""

import logging

from .config import Settings, load_settings, load_sources
from .errors import ConfigError, PipelineError, SourcesFileError, StoreError
from .explain import explain
from .models import (
    Article,
    Citation,
    Constraints,
    Digest,
    DuplicateLink,
    Entity,
    Entry,
    ExtractedPage,
    FetchResult,
    Mention,
    ParsedFeed,
    Placement,
    RankedStory,
    Section,
    SharedFeature,
    Source,
    StageReport,
    Story,
    Summary,
    SummarySentence,
    Topic,
    Topics,
)
from .run import (
    build_day,
    export_notes,
    fetch_round,
    link_entities,
    process_new,
    rebuild_stories,
    run_all,
    summarize_stories,
    update_stories,
)
from .store import Store

__all__ = [
    "Article",
    "Citation",
    "ConfigError",
    "Constraints",
    "Digest",
    "DuplicateLink",
    "Entity",
    "Entry",
    "ExtractedPage",
    "FetchResult",
    "Mention",
    "ParsedFeed",
    "PipelineError",
    "Placement",
    "RankedStory",
    "Section",
    "Settings",
    "SharedFeature",
    "Source",
    "SourcesFileError",
    "StageReport",
    "Store",
    "StoreError",
    "Story",
    "Summary",
    "SummarySentence",
    "Topic",
    "Topics",
    "build_day",
    "explain",
    "export_notes",
    "fetch_round",
    "link_entities",
    "load_settings",
    "load_sources",
    "process_new",
    "rebuild_stories",
    "run_all",
    "summarize_stories",
    "update_stories",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
