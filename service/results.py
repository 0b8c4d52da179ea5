"""Every MongoDB read and write of the results: scraped reviews, their analysis, app summaries.

Reviews are keyed by (app_id, review_id): a retried upload upserts the same documents, and the
unique index that enforces this (`service/indexes.py`) also serves the paginated read
(equality app_id, sort and range on review_id). Summaries are one document per app,
``_id`` = app_id.
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne

from service.clock import as_utc, to_millis, utcnow
from service.db import PRIMARY
from service.expressions import cond, field, literal

Doc = dict[str, Any]

REVIEW_ORDER = [("review_id", ASCENDING)]
# Written on every upload; analysis is written by the NLP stage and must survive re-uploads.
REVIEW_FIELDS = (
    "content",
    "score",
    "at",
    "user_name",
    "thumbs_up",
    "app_version",
    "reply",
)


class ResultStore:
    def __init__(
        self,
        database: Any,
        *,
        bulk_writes: bool = True,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """bulk_writes=False writes one update_one per review: mongomock 4.3 cannot run the
        UpdateOne operations of PyMongo 4.20 through bulk_write, so the embedded store needs it.
        """
        self.reviews = database.get_collection("reviews", **PRIMARY)
        self.summaries = database.get_collection("summaries", **PRIMARY)
        self._bulk_writes = bulk_writes
        self._clock = clock

    # Reviews

    async def store_reviews(self, app_id: str, job_id: str, reviews: Iterable[Doc]) -> int:
        """Upsert a batch of reviews by (app_id, review_id); returns the app's review count.

        A review stored before whose content or score changes loses its analysis (the NLP stage
        reads both): an analysis always describes the review it is attached to.
        """
        now = self._clock()
        updates = []
        for review in reviews:
            fields = {name: review.get(name) for name in REVIEW_FIELDS}
            fields["at"] = to_millis(review["at"])
            fields["thumbs_up"] = fields["thumbs_up"] or 0
            fields["job_id"] = job_id
            fields["scraped_at"] = now
            # Decided by the stored review itself (a pipeline's expressions see the document
            # before the update), so the batch needs no read first.
            unchanged = {
                "$and": [
                    {"$eq": [field("content"), literal(fields["content"])]},
                    {"$eq": [field("score"), fields["score"]]},
                ]
            }
            update = [
                {
                    "$set": {
                        **{name: literal(value) for name, value in fields.items()},
                        "analysis": cond(unchanged, field("analysis"), None),
                    }
                }
            ]
            key = {"app_id": app_id, "review_id": review["review_id"]}
            updates.append((key, update))
        await self._update_many(updates, upsert=True)
        return await self.count_reviews(app_id)

    async def count_reviews(self, app_id: str) -> int:
        return await self.reviews.count_documents({"app_id": app_id})

    async def page_of_reviews(
        self, app_id: str, *, after: str | None, limit: int
    ) -> tuple[list[Doc], bool]:
        """Up to `limit` reviews by review_id, starting after `after`; and whether more follow."""
        query: Doc = {"app_id": app_id}
        if after is not None:
            query["review_id"] = {"$gt": after}
        found = await self.reviews.find(query, sort=REVIEW_ORDER, limit=limit + 1).to_list(None)
        return found[:limit], len(found) > limit

    # Analysis

    async def store_analysis(
        self, app_id: str, job_id: str, analyses: Iterable[Doc]
    ) -> tuple[int, list[str]]:
        """Set each known review's `analysis`; returns (updated, unknown review ids)."""
        by_id = {a["review_id"]: a for a in analyses}  # the last one of a repeated id wins
        if not by_id:
            return 0, []
        existing = await self.reviews.find(
            {"app_id": app_id, "review_id": {"$in": list(by_id)}},
            projection={"_id": 0, "review_id": 1},
        ).to_list(None)
        known = {doc["review_id"] for doc in existing}
        now = self._clock()
        updates = []
        for review_id, analysis in by_id.items():
            if review_id not in known:
                continue
            stored = {
                "sentiment": analysis["sentiment"],
                "language": analysis.get("language"),
                "keywords": analysis.get("keywords") or [],
                "job_id": job_id,
                "analyzed_at": now,
            }
            updates.append(
                ({"app_id": app_id, "review_id": review_id}, {"$set": {"analysis": stored}})
            )
        await self._update_many(updates, upsert=False)
        return len(updates), [review_id for review_id in by_id if review_id not in known]

    # Summaries

    async def store_summary(self, app_id: str, job_id: str, summary: Doc) -> None:
        """Replace the app's summary with this one."""
        doc = {**summary, "app_id": app_id, "job_id": job_id, "generated_at": self._clock()}
        await self.summaries.replace_one({"_id": app_id}, doc, upsert=True)

    async def summary(self, app_id: str) -> Doc | None:
        doc = await self.summaries.find_one({"_id": app_id})
        if doc is not None:
            doc["generated_at"] = as_utc(doc["generated_at"])
        return doc

    # Writing

    async def _update_many(self, updates: list[tuple[Doc, Doc]], *, upsert: bool) -> None:
        if not updates:
            return
        if self._bulk_writes:
            ops = [UpdateOne(key, update, upsert=upsert) for key, update in updates]
            await self.reviews.bulk_write(ops, ordered=False)
            return
        for key, update in updates:
            await self.reviews.update_one(key, update, upsert=upsert)
