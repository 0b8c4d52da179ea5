"""google-play-scraper, imported without its side effect.

Importing the library sets `ssl._create_default_https_context` to the unverified context for
the whole process (google_play_scraper/utils/request.py). We put the stdlib's default back,
so its requests to Google, and every other urllib request in the worker, check certificates.
"""

import ssl

from google_play_scraper import Sort
from google_play_scraper import app as app_details
from google_play_scraper.constants.element import ElementSpecs
from google_play_scraper.constants.request import Formats
from google_play_scraper.exceptions import NotFoundError

# reviews() itself swallows every error (see sources.GooglePlaySource): use the one-page fetch.
from google_play_scraper.features.reviews import _fetch_review_items

ssl._create_default_https_context = ssl.create_default_context  # the stdlib's default

__all__ = [
    "ElementSpecs",
    "Formats",
    "NotFoundError",
    "Sort",
    "_fetch_review_items",
    "app_details",
]
