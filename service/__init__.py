"""review-queue: a MongoDB-backed job queue for app-review scraping and NLP."""

__version__ = "0.1.0"
