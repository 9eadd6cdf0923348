"""AI-news digest pipeline: fetch feeds, cluster articles into stories, publish a cited digest."""

import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
