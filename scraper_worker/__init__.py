"""The scraper worker: claims "scraper" jobs from the review-queue service, fetches the app's
reviews (Google Play, or the synthetic demo data shipped in data/) and posts them in batches.

    scraper-worker --api-url http://localhost:8000 [--source google-play|fixtures]
"""

from scraper_worker.processor import STAGE, make_processor
from scraper_worker.sources import FixtureSource, GooglePlaySource, make_source

__all__ = ["STAGE", "FixtureSource", "GooglePlaySource", "make_processor", "make_source"]
