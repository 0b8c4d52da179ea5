"""The NLP worker: per-review analysis, the app summary, the processor against a fake
job context, and the CLI."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from click.testing import CliRunner

from nlp_worker import processor as processor_module
from nlp_worker.analysis import (
    analyze_batch,
    analyze_review,
    get_analyzer,
    label_for,
    rating_compound,
    yake_language,
)
from nlp_worker.processor import BATCH_SIZE, process_nlp_job, streaming_percent
from nlp_worker.summary import summarize, top_keywords, utc_day
from queue_client.errors import NonRetryableError

POSITIVE = "I love this app, it is fantastic and works perfectly. Best music app ever!"
NEGATIVE = "Terrible app. It keeps crashing every time I open it. The crash happens daily, useless."
NEUTRAL = "The app has a settings page and a search bar."
SPANISH = "Me encanta esta aplicación, funciona muy bien y es muy fácil de usar todos los días."
CHINESE = "这个应用很好用，音乐很多，推荐给大家。"  # noqa: RUF001 (Chinese punctuation)
GERMAN = "Die App stürzt ständig ab und ich kann keine Musik mehr hören, sehr ärgerlich."


def review(review_id: str, content: str, score: int = 3, at: str = "2026-01-15T10:00:00Z"):
    return {
        "review_id": review_id,
        "content": content,
        "score": score,
        "at": at,
        "user_name": "someone",
        "thumbs_up": 0,
        "app_version": "1.0",
        "reply": None,
    }


# -- analysis ---------------------------------------------------------------------------


def test_clear_positive_english():
    result = analyze_review(review("r1", POSITIVE, score=1))
    assert result["review_id"] == "r1"
    assert result["language"] == "en"
    assert result["sentiment"]["label"] == "positive"
    assert result["sentiment"]["compound"] > 0.5  # VADER, not the 1-star rating


def test_clear_negative_english_with_crash_keyword():
    result = analyze_review(review("r2", NEGATIVE, score=5))
    assert result["language"] == "en"
    assert result["sentiment"]["label"] == "negative"
    assert result["sentiment"]["compound"] < -0.3
    assert any("crash" in keyword for keyword in result["keywords"]), result["keywords"]


def test_neutral_english():
    result = analyze_review(review("r3", NEUTRAL, score=5))
    assert result["language"] == "en"
    assert result["sentiment"] == {"compound": 0.0, "label": "neutral"}


def test_spanish_and_german_are_detected_with_keywords_in_their_language():
    spanish = analyze_review(review("es", SPANISH, score=5))
    german = analyze_review(review("de", GERMAN, score=1))
    assert spanish["language"] == "es"
    assert german["language"] == "de"
    assert "aplicación" in spanish["keywords"]
    # Spanish stop words are not keywords on their own
    assert not {"muy", "es", "de", "los"} & set(spanish["keywords"])
    assert any("stürzt" in keyword for keyword in german["keywords"]), german["keywords"]
    assert not {"die", "und", "ich"} & set(german["keywords"])


def test_non_english_sentiment_comes_from_the_star_rating():
    # A glowing Spanish text with one star: the rating decides, VADER is English-only.
    assert analyze_review(review("a", SPANISH, score=1))["sentiment"] == {
        "compound": -1.0,
        "label": "negative",
    }
    assert analyze_review(review("b", SPANISH, score=4))["sentiment"] == {
        "compound": 0.5,
        "label": "positive",
    }
    assert analyze_review(review("c", GERMAN, score=3))["sentiment"]["label"] == "neutral"


def test_non_english_without_rating_falls_back_to_vader():
    result = analyze_review({"review_id": "x", "content": SPANISH, "score": None})
    assert result["language"] == "es"
    assert -1 <= result["sentiment"]["compound"] <= 1
    assert result["sentiment"]["label"] == label_for(result["sentiment"]["compound"])


def test_empty_and_undetectable_text():
    empty = analyze_review(review("e", "", score=2))
    assert empty == {
        "review_id": "e",
        "sentiment": {"compound": -0.5, "label": "negative"},
        "language": None,
        "keywords": [],
    }
    assert analyze_review({"review_id": "n", "content": None, "score": 5})["language"] is None
    emoji = analyze_review(review("m", "😍😍😍", score=1))
    assert emoji["language"] is None
    assert emoji["keywords"] == []
    assert emoji["sentiment"]["label"] == "positive"  # VADER knows emoji
    punctuation = analyze_review(review("p", "!!! ???", score=5))
    assert punctuation["language"] is None


def test_short_english_reviews_are_english():
    # langdetect alone calls these Somali, Polish and Dutch
    for text in ("good", "nice", "worst app ever", "Love it"):
        assert analyze_review(review("s", text))["language"] == "en", text
    assert analyze_review(review("s", "Sehr gut"))["language"] == "de"


def test_keywords_shape():
    results = analyze_batch(
        [review(str(i), text) for i, text in enumerate([POSITIVE, NEGATIVE, SPANISH, GERMAN])]
    )
    for result in results:
        keywords = result["keywords"]
        assert 1 <= len(keywords) <= 5
        assert len(set(keywords)) == len(keywords)
        for keyword in keywords:
            assert keyword == keyword.lower()
            assert 1 <= len(keyword.split()) <= 2


def test_app_is_never_a_keyword_and_unspaced_scripts_get_none():
    for text in ("Terrible app, worst app ever made.", "Die App ist super, tolle App!"):
        keywords = analyze_review(review("a", text))["keywords"]
        assert keywords
        assert not any("app" in keyword.split() for keyword in keywords), keywords
    chinese = analyze_review(review("z", CHINESE, score=5))
    assert chinese["language"] == "zh-cn"
    assert chinese["keywords"] == []
    assert chinese["sentiment"]["label"] == "positive"  # from the rating


def test_analysis_is_deterministic_and_in_order():
    reviews = [review(str(i), text) for i, text in enumerate([SPANISH, "ok", GERMAN, POSITIVE])]
    first = analyze_batch(reviews)
    assert [result["review_id"] for result in first] == ["0", "1", "2", "3"]
    assert analyze_batch(reviews) == first


def test_analyzer_is_built_once():
    assert get_analyzer() is get_analyzer()


def test_label_thresholds_and_rating_mapping():
    assert label_for(0.05) == "positive"
    assert label_for(0.0499) == "neutral"
    assert label_for(-0.0499) == "neutral"
    assert label_for(-0.05) == "negative"
    assert [rating_compound(score) for score in (1, 2, 3, 4, 5)] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert rating_compound(0) is None
    assert rating_compound(None) is None
    assert rating_compound(True) is None


def test_yake_language_mapping():
    assert yake_language("es") == "es"
    assert yake_language("cs") == "cz"
    assert yake_language("zh-cn") == "zh"
    assert yake_language("ko") == "en"  # YAKE ships no Korean stop words
    assert yake_language(None) == "en"


# -- summary ----------------------------------------------------------------------------


def analysis(label: str, language: str | None, keywords: list[str]) -> dict[str, Any]:
    compound = {"positive": 0.8, "neutral": 0.0, "negative": -0.8}[label]
    return {
        "review_id": "-",
        "sentiment": {"compound": compound, "label": label},
        "language": language,
        "keywords": keywords,
    }


def test_summary_of_a_hand_made_set():
    pairs = [
        (
            review("1", "", 5, "2026-03-01T08:00:00Z"),
            analysis("positive", "en", ["music", "playlists"]),
        ),
        (review("2", "", 4, "2026-03-01T23:59:59Z"), analysis("positive", "en", ["music", "ads"])),
        (
            review("3", "", 5, "2026-03-02T00:30:00+02:00"),  # 2026-03-01 in UTC
            analysis("positive", "es", ["aplicación"]),
        ),
        (review("4", "", 1, "2026-03-02T12:00:00Z"), analysis("negative", "en", ["crash", "ads"])),
        (
            review("5", "", 2, "2026-03-02T13:00:00Z"),
            analysis("negative", None, ["crash", "login"]),
        ),
        (review("6", "", 1, "2026-03-03T09:00:00Z"), analysis("negative", "de", ["absturz"])),
        (review("7", "", 3, "2026-03-03T10:00:00Z"), analysis("neutral", "en", ["music"])),
    ]
    summary = summarize(pairs)
    assert summary == {
        "review_count": 7,
        "average_rating": 3.0,
        "sentiment": {"positive": 3, "neutral": 1, "negative": 3},
        "top_keywords": {
            "positive": ["music", "ads", "aplicación", "playlists"],
            "negative": ["crash", "absturz", "ads", "login"],
        },
        "languages": {"de": 1, "en": 4, "es": 1, "unknown": 1},
        "per_day": {"2026-03-01": 3, "2026-03-02": 2, "2026-03-03": 2},
    }
    assert sum(summary["sentiment"].values()) == summary["review_count"]
    assert sum(summary["languages"].values()) == summary["review_count"]
    assert sum(summary["per_day"].values()) == summary["review_count"]


def test_summary_rounds_average_and_counts_keywords_once_per_review():
    pairs = [
        (review("1", "", 5), analysis("positive", "en", ["great", "great", "zeta"])),
        (review("2", "", 4), analysis("positive", "en", ["zeta"])),
        (review("3", "", 4), analysis("positive", "en", ["alpha"])),
    ]
    summary = summarize(pairs)
    assert summary["average_rating"] == 4.33
    # zeta: 2 reviews; great and alpha: 1 each, alphabetical
    assert summary["top_keywords"]["positive"] == ["zeta", "alpha", "great"]
    assert summary["top_keywords"]["negative"] == []


def test_top_keywords_limit_and_ties():
    from collections import Counter

    counts = Counter({f"k{i:02d}": 1 for i in range(15)} | {"z": 3, "b": 2, "a": 2})
    assert top_keywords(counts) == ["z", "a", "b", "k00", "k01", "k02", "k03", "k04", "k05", "k06"]


def test_summary_of_nothing():
    assert summarize([]) == {
        "review_count": 0,
        "average_rating": None,
        "sentiment": {"positive": 0, "neutral": 0, "negative": 0},
        "top_keywords": {"positive": [], "negative": []},
        "languages": {},
        "per_day": {},
    }


def test_utc_day():
    assert utc_day("2026-01-31T23:30:00Z") == "2026-01-31"
    assert utc_day("2026-01-31T23:30:00-02:00") == "2026-02-01"
    assert utc_day("2026-01-31T00:30:00+01:00") == "2026-01-30"
    assert utc_day("2026-01-31T12:00:00") == "2026-01-31"
    assert utc_day("yesterday") is None
    assert utc_day(None) is None


# -- processor --------------------------------------------------------------------------


TEXTS = [POSITIVE, NEGATIVE, NEUTRAL, SPANISH, GERMAN, "good", "", "Too many ads, annoying."]


class FakeClient:
    def __init__(self, reviews: list[dict[str, Any]]):
        self.reviews = reviews
        self.page_sizes: list[int] = []
        self.calls: list[tuple[list[dict[str, Any]], dict[str, Any] | None]] = []

    async def iter_reviews(self, app_id: str, page_size: int = 500) -> AsyncIterator[dict]:
        assert app_id == "com.example.app"
        self.page_sizes.append(page_size)
        for start in range(0, len(self.reviews), page_size):
            await asyncio.sleep(0)  # a page fetch
            for item in self.reviews[start : start + page_size]:
                yield dict(item)

    async def put_analysis(self, job, reviews, summary=None):
        assert job["lease_token"] == "token-1"
        assert len(reviews) <= 500
        self.calls.append((list(reviews), summary))
        return {"updated": len(reviews), "unknown_review_ids": [], "summary_stored": bool(summary)}


class FakeContext:
    def __init__(self, reviews: list[dict[str, Any]], app_id: str | None = "com.example.app"):
        self.job = {
            "job_id": "job-1",
            "app_id": app_id,
            "stage": "nlp",
            "params": {},
            "lease_token": "token-1",
            "attempt": 1,
        }
        self.client = FakeClient(reviews)
        self.progress_reports: list[tuple[float, str | None]] = []

    async def progress(self, percent: float, message: str | None = None) -> None:
        self.progress_reports.append((percent, message))


def many_reviews(count: int) -> list[dict[str, Any]]:
    return [
        review(
            f"r{i:05d}",
            TEXTS[i % len(TEXTS)],
            score=i % 5 + 1,
            at=f"2026-02-{i % 28 + 1:02d}T12:00:00Z",
        )
        for i in range(count)
    ]


class CountingAnalyse:
    """Wraps the real batch analysis: records review ids and the threads it ran on."""

    def __init__(self):
        self.review_ids: list[str] = []
        self.threads: set[int] = set()

    def __call__(self, reviews):
        self.threads.add(threading.get_ident())
        self.review_ids.extend(item["review_id"] for item in reviews)
        return analyze_batch(reviews)


async def test_processor_sends_batches_and_summary_last():
    reviews = many_reviews(1200)
    ctx = FakeContext(reviews)
    counting = CountingAnalyse()

    assert await process_nlp_job(ctx, analyse=counting) is None

    calls = ctx.client.calls
    assert ctx.client.page_sizes == [BATCH_SIZE]
    assert [len(sent) for sent, _ in calls] == [500, 500, 200]
    assert [summary is not None for _, summary in calls] == [False, False, True]
    sent_ids = [item["review_id"] for sent, _ in calls for item in sent]
    assert sorted(sent_ids) == [item["review_id"] for item in reviews]  # each once
    assert sorted(counting.review_ids) == sent_ids == counting.review_ids
    assert threading.get_ident() not in counting.threads  # analysed off the event loop

    summary = calls[-1][1]
    assert summary["review_count"] == 1200
    assert summary["average_rating"] == 3.0
    assert sum(summary["sentiment"].values()) == 1200
    assert sum(summary["languages"].values()) == 1200
    assert sum(summary["per_day"].values()) == 1200
    assert summary["languages"]["es"] == summary["languages"]["de"] == 150
    assert summary["languages"]["unknown"] == 150  # the empty texts
    assert "crash" in " ".join(summary["top_keywords"]["negative"])

    # one report as the job starts, one per analysed batch, one when the summary is stored
    assert [percent for percent, _ in ctx.progress_reports] == [0.0, 50.0, 66.7, 70.6, 100.0]
    assert ctx.progress_reports[3][1] == "analysed 1200 reviews"


async def test_processor_exact_multiple_of_batch_size_puts_summary_on_last_batch():
    ctx = FakeContext(many_reviews(1000))
    await process_nlp_job(ctx)
    assert [(len(sent), summary is not None) for sent, summary in ctx.client.calls] == [
        (500, False),
        (500, True),
    ]


async def test_processor_with_zero_reviews():
    ctx = FakeContext([])
    await process_nlp_job(ctx)
    assert ctx.client.calls == [
        (
            [],
            {
                "review_count": 0,
                "average_rating": None,
                "sentiment": {"positive": 0, "neutral": 0, "negative": 0},
                "top_keywords": {"positive": [], "negative": []},
                "languages": {},
                "per_day": {},
            },
        )
    ]
    assert ctx.progress_reports[-1][0] == 100.0


async def test_processor_analyses_a_repeated_review_once():
    reviews = many_reviews(3)
    ctx = FakeContext([*reviews, reviews[1], {"content": "no id", "score": 3}])
    await process_nlp_job(ctx)
    (sent, summary), *rest = ctx.client.calls
    assert rest == []
    assert [item["review_id"] for item in sent] == ["r00000", "r00001", "r00002"]
    assert summary["review_count"] == 3


async def test_processor_refuses_a_job_without_app_id():
    with pytest.raises(NonRetryableError):
        await process_nlp_job(FakeContext([], app_id=None))


def test_streaming_percent_grows_below_100():
    values = [streaming_percent(done) for done in (0, 500, 1000, 1500, 10**6)]
    assert values == sorted(values)
    assert values[0] == 0.0
    assert values[1] == 50.0
    assert values[-1] == 99.0


def test_processor_module_uses_the_service_batch_limit():
    assert processor_module.BATCH_SIZE == 500


# -- CLI --------------------------------------------------------------------------------


def test_cli_help():
    from nlp_worker.cli import main

    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    for option in (
        "--api-url",
        "--worker-id",
        "--concurrency",
        "--lease-seconds",
        "--grace-seconds",
        "--log-level",
    ):
        assert option in result.output


# -- end to end -------------------------------------------------------------------------


@pytest.mark.slow
async def test_worker_analyses_an_app_through_a_real_service():
    """Scraped reviews posted to a real `python -m service serve`; the NLP Worker claims the
    job, stores 680 analyses in two calls and a summary the service accepts and serves."""
    from queue_client.backoff import BackoffPolicy
    from queue_client.client import QueueClient
    from queue_client.worker import Worker
    from scraper_worker.sources import load_fixture
    from tests.serving import running_service

    app_id = "com.example.mixed"
    reviews = load_fixture("com.spotify.music") + load_fixture("com.whatsapp")
    assert len(reviews) == 680
    with running_service() as url:
        async with QueueClient(url, worker_id="scraper-test") as scraper:
            added = await scraper.add(app_id)
            (job,) = await scraper.claim("scraper")
            assert job["job_id"] == added["job_id"]
            for start in range(0, len(reviews), 200):
                await scraper.post_reviews(job, reviews[start : start + 200])
            await scraper.finish(job)

        client = QueueClient(
            url, worker_id="nlp-test", retry_policy=BackoffPolicy(initial=0.05, maximum=0.5)
        )
        seen: list[int] = []

        async def counting_processor(ctx) -> None:
            before = len(seen)
            original = ctx.client.put_analysis

            async def put_analysis(job, batch, summary=None):
                seen.append(len(batch))
                return await original(job, batch, summary=summary)

            ctx.client = _Wrapped(ctx.client, put_analysis=put_analysis)
            await process_nlp_job(ctx)
            assert len(seen) > before

        worker = Worker(client, "nlp", counting_processor, idle_poll_min=0.02, idle_poll_max=0.1)
        task = asyncio.create_task(worker.run())
        try:
            async with asyncio.timeout(60):
                status = await client.status(app_id)
                while status["stage"] != "done" and status["status"] not in ("error", "cancelled"):
                    await asyncio.sleep(0.1)
                    status = await client.status(app_id)
            summary = await client.summary(app_id)
            stored = [review async for review in client.iter_reviews(app_id)]
        finally:
            worker.stop()
            await asyncio.wait_for(task, 30)
            await client.aclose()

    assert status["status"] == "completed", status
    assert seen == [500, 180]
    assert summary["review_count"] == 680
    assert sum(summary["sentiment"].values()) == 680
    assert sum(summary["languages"].values()) == 680
    assert summary["languages"]["en"] > 400
    assert {"es", "de", "fr"} <= set(summary["languages"])
    expected_average = round(sum(review["score"] for review in reviews) / 680, 2)
    assert summary["average_rating"] == expected_average
    assert summary["top_keywords"]["negative"]
    assert summary["top_keywords"]["positive"]
    assert len(stored) == 680
    assert all(review.get("analysis") for review in stored)


class _Wrapped:
    """A client with some methods replaced, everything else passed through."""

    def __init__(self, inner: Any, **replacements: Any):
        self._inner = inner
        self.__dict__.update(replacements)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_the_summary_leaves_the_apps_own_name_out_of_its_keywords():
    from nlp_worker.summary import summarize

    review = {"score": 5, "at": "2026-11-01T10:00:00Z"}
    analysis = {
        "sentiment": {"compound": 0.9, "label": "positive"},
        "language": "en",
        "keywords": ["spotify", "discover weekly"],
    }
    summary = summarize([(review, analysis)], app_id="com.spotify.music")
    assert summary["top_keywords"]["positive"] == ["discover weekly"]
    assert summarize([(review, analysis)])["top_keywords"]["positive"] == [
        "discover weekly",
        "spotify",
    ]
