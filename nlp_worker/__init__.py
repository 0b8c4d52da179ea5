"""The NLP worker: claims "nlp" jobs and analyses an app's scraped reviews.

`analysis` (per review: sentiment, language, keywords) and `summary` (per app) are pure;
`processor` runs one job against the service; `cli` is the `nlp-worker` command.
"""
