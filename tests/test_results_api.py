"""The results API: review uploads under a scraper lease, paginated reads, analysis under an
NLP lease, and the summary once the app's job is done. Runs on the embedded store, and again on
a real MongoDB when TEST_MONGODB_URI is set."""

import random
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

APP = "com.example.reviews"
OTHER_APP = "com.example.other"
MiB = 1024 * 1024


@pytest.fixture
def api(client: AsyncTestClient) -> AsyncTestClient:
    """The shared client (tests/conftest.py): embedded store, and real MongoDB when given."""
    return client


def review(review_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "review_id": review_id,
        "content": f"text of {review_id}",
        "score": 4,
        "at": "2026-01-02T03:04:05.123456+02:00",
        "user_name": "Ana",
        "thumbs_up": 3,
        "app_version": "1.2.3",
        "reply": None,
        **fields,
    }


def analysis(review_id: str, label: str = "positive", compound: float = 0.8) -> dict[str, Any]:
    return {
        "review_id": review_id,
        "sentiment": {"compound": compound, "label": label},
        "language": "en",
        "keywords": ["fast", "clean"],
    }


THEME = {
    "theme": "crash",
    "language": "en",
    "review_count": 1,
    "share": 0.5,
    "example_review_ids": ["r2"],
    "per_week": {"2026-W01": 1},
    "per_version": {"1.2.3": 1},
}
SUMMARY = {
    "review_count": 2,
    "average_rating": 3.5,
    "rating_distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1},
    "sentiment": {"positive": 1, "neutral": 0, "negative": 1},
    "top_keywords": {"positive": ["fast"], "negative": ["crash"]},
    "top_issues": [THEME],
    "top_praises": [{**THEME, "theme": "fast", "example_review_ids": ["r1"]}],
    "languages": {"en": 2},
    "per_day": {"2026-01-02": 2},
    "per_week": {"2026-W01": 2},
    "versions": [
        {
            "version": "1.2.3",
            "review_count": 2,
            "average_rating": 3.5,
            "average_sentiment": 0.15,
            "sentiment": {"positive": 1, "neutral": 0, "negative": 1},
        }
    ],
}
OLD_SUMMARY = {  # what workers stored before themes, versions and trends
    "review_count": 2,
    "average_rating": 3.5,
    "sentiment": {"positive": 1, "neutral": 0, "negative": 1},
    "top_keywords": {"positive": ["fast"], "negative": ["crash"]},
    "languages": {"en": 2},
    "per_day": {"2026-01-02": 2},
}


async def add_job(api: AsyncTestClient, app_id: str = APP, force: bool = False) -> str:
    response = await api.post("/queue/add", json={"app_id": app_id, "force": force})
    assert response.status_code == 201, response.text
    return response.json()["job_id"]


async def claim(api: AsyncTestClient, stage: str, job_id: str) -> str:
    response = await api.post("/queue/poll", json={"stage": stage, "worker_id": "w"})
    assert response.status_code == 200, response.text
    [job] = response.json()
    assert job["job_id"] == job_id
    return job["lease_token"]


async def scraping(api: AsyncTestClient, app_id: str = APP) -> tuple[str, str]:
    """A job of the app at scraper/processing, and its lease token."""
    job_id = await add_job(api, app_id)
    return job_id, await claim(api, "scraper", job_id)


async def move(api: AsyncTestClient, job_id: str, stage: str, status: str, token: str) -> None:
    response = await api.post(
        f"/queue/{job_id}/update", json={"stage": stage, "status": status, "lease_token": token}
    )
    assert response.status_code == 200, response.text


async def upload(
    api: AsyncTestClient, job_id: str, token: str, reviews: list[dict], app_id: str = APP
) -> Any:
    body = {"job_id": job_id, "lease_token": token, "reviews": reviews}
    return await api.post(f"/apps/{app_id}/reviews", json=body)


async def put_analysis(
    api: AsyncTestClient, job_id: str, token: str, reviews: list[dict], summary: Any = None
) -> Any:
    body = {"job_id": job_id, "lease_token": token, "reviews": reviews, "summary": summary}
    return await api.put(f"/apps/{APP}/analysis", json=body)


async def all_reviews(api: AsyncTestClient, app_id: str = APP) -> dict[str, dict]:
    response = await api.get(f"/apps/{app_id}/reviews", params={"limit": 500})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return {r["review_id"]: r for r in response.json()["reviews"]}


def field_problems(response: Any) -> list[dict]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"error", "details"}
    return body["details"]


# Uploads


async def test_upload_stores_the_reviews(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    response = await upload(api, job_id, token, [review("r1"), review("r2", thumbs_up=0)])
    assert response.status_code == 200
    assert response.json() == {"received": 2, "stored": 2}

    stored = await all_reviews(api)
    assert stored["r1"] == {
        "review_id": "r1",
        "content": "text of r1",
        "score": 4,
        "at": "2026-01-02T01:04:05.123Z",  # UTC, milliseconds
        "user_name": "Ana",
        "thumbs_up": 3,
        "app_version": "1.2.3",
        "reply": None,
    }
    assert stored["r2"]["thumbs_up"] == 0


async def test_retried_batch_stores_nothing_twice(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    batch = [review("r1"), review("r2"), review("r3")]
    assert (await upload(api, job_id, token, batch)).json() == {"received": 3, "stored": 3}

    again = await upload(api, job_id, token, [*batch[:2], review("r3", content="edited")])
    assert again.status_code == 200
    assert again.json() == {"received": 3, "stored": 3}

    more = await upload(api, job_id, token, [review("r3"), review("r4")])
    assert more.json() == {"received": 2, "stored": 4}
    stored = await all_reviews(api)
    assert sorted(stored) == ["r1", "r2", "r3", "r4"]
    assert stored["r3"]["content"] == "text of r3"


async def test_optional_review_fields_and_a_naive_time(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    bare = {"review_id": "bare", "content": "", "score": 1, "at": "2026-03-04T05:06:07"}
    assert (await upload(api, job_id, token, [bare])).status_code == 200
    assert (await all_reviews(api))["bare"] == {
        "review_id": "bare",
        "content": "",
        "score": 1,
        "at": "2026-03-04T05:06:07.000Z",
        "user_name": None,
        "thumbs_up": 0,
        "app_version": None,
        "reply": None,
    }


async def test_lease_token_may_come_as_a_header(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    response = await api.post(
        f"/apps/{APP}/reviews",
        json={"job_id": job_id, "reviews": [review("r1")]},
        headers={"X-Lease-Token": token},
    )
    assert response.status_code == 200
    assert response.json() == {"received": 1, "stored": 1}


async def test_upload_without_any_lease_token_is_422(api: AsyncTestClient) -> None:
    job_id, _ = await scraping(api)
    response = await api.post(
        f"/apps/{APP}/reviews", json={"job_id": job_id, "reviews": [review("r1")]}
    )
    assert [p["field"] for p in field_problems(response)] == ["lease_token"]


# Lease checks


async def test_upload_for_an_unknown_job_is_404(api: AsyncTestClient) -> None:
    response = await upload(api, "no-such-job", "token", [review("r1")])
    assert response.status_code == 404
    assert response.json() == {"error": "Job not found", "details": {"job_id": "no-such-job"}}


async def test_upload_with_a_wrong_token_is_409(api: AsyncTestClient) -> None:
    job_id, _ = await scraping(api)
    response = await upload(api, job_id, "not-the-token", [review("r1")])
    assert response.status_code == 409
    assert response.json()["details"] == {"current": {"stage": "scraper", "status": "processing"}}
    assert (await all_reviews(api)) == {}


async def test_upload_for_a_job_not_being_scraped_is_409(api: AsyncTestClient) -> None:
    job_id = await add_job(api)  # queued, never claimed
    response = await upload(api, job_id, "token", [review("r1")])
    assert response.status_code == 409
    assert response.json()["details"] == {"current": {"stage": "scraper", "status": "queued"}}

    token = await claim(api, "scraper", job_id)
    await move(api, job_id, "nlp", "queued", token)
    response = await upload(api, job_id, token, [review("r1")])  # the scraper's lease is over
    assert response.status_code == 409
    assert response.json()["details"] == {"current": {"stage": "nlp", "status": "queued"}}
    assert (await all_reviews(api)) == {}


async def test_upload_for_another_apps_job_is_409(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api, OTHER_APP)
    response = await upload(api, job_id, token, [review("r1")], app_id=APP)
    assert response.status_code == 409
    assert "another app" in response.json()["error"]
    assert (await all_reviews(api, APP)) == {}
    assert (await all_reviews(api, OTHER_APP)) == {}


async def test_analysis_needs_the_nlp_lease(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    await upload(api, job_id, token, [review("r1")])
    response = await put_analysis(api, job_id, token, [analysis("r1")])  # still scraping
    assert response.status_code == 409
    assert response.json()["details"] == {"current": {"stage": "scraper", "status": "processing"}}

    await move(api, job_id, "nlp", "queued", token)
    nlp_token = await claim(api, "nlp", job_id)
    response = await put_analysis(api, job_id, "not-the-token", [analysis("r1")])
    assert response.status_code == 409
    assert (await put_analysis(api, "no-such-job", nlp_token, [])).status_code == 404
    assert "analysis" not in (await all_reviews(api))["r1"]


# Reading


async def test_pagination_sees_every_review_once_in_order(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    ids = [f"review-{n:03d}" for n in range(47)]
    shuffled = random.Random(7).sample(ids, len(ids))
    for start in range(0, len(ids), 20):
        await upload(api, job_id, token, [review(i) for i in shuffled[start : start + 20]])

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 10}
        if cursor is not None:
            params["cursor"] = cursor
        response = await api.get(f"/apps/{APP}/reviews", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == 47
        seen += [r["review_id"] for r in page["reviews"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["reviews"]) == 10
    assert pages == 5
    assert seen == sorted(ids)


async def test_an_exact_last_page_has_no_next_cursor(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    await upload(api, job_id, token, [review(f"r{n}") for n in range(4)])
    first = (await api.get(f"/apps/{APP}/reviews", params={"limit": 2})).json()
    assert [r["review_id"] for r in first["reviews"]] == ["r0", "r1"]
    second = await api.get(
        f"/apps/{APP}/reviews", params={"limit": 2, "cursor": first["next_cursor"]}
    )
    assert [r["review_id"] for r in second.json()["reviews"]] == ["r2", "r3"]
    assert second.json()["next_cursor"] is None


async def test_an_app_without_reviews_has_an_empty_page(api: AsyncTestClient) -> None:
    response = await api.get("/apps/com.nobody.here/reviews")
    assert response.status_code == 200
    assert response.json() == {"reviews": [], "next_cursor": None, "total": 0}


async def test_reviews_of_other_apps_stay_apart(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    other_job, other_token = await scraping(api, OTHER_APP)
    await upload(api, job_id, token, [review("shared"), review("mine")])
    response = await upload(api, other_job, other_token, [review("shared")], app_id=OTHER_APP)
    assert response.json() == {"received": 1, "stored": 1}
    assert sorted(await all_reviews(api, APP)) == ["mine", "shared"]
    assert sorted(await all_reviews(api, OTHER_APP)) == ["shared"]


# Analysis and summary


async def test_analysis_is_stored_and_unknown_ids_reported(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    await upload(api, job_id, token, [review("r1"), review("r2"), review("r3")])
    await move(api, job_id, "nlp", "queued", token)
    nlp_token = await claim(api, "nlp", job_id)

    response = await put_analysis(
        api,
        job_id,
        nlp_token,
        [analysis("r1"), analysis("ghost"), analysis("r2", "negative", -0.6), analysis("gone")],
    )
    assert response.status_code == 200
    assert response.json() == {
        "updated": 2,
        "unknown_review_ids": ["ghost", "gone"],
        "summary_stored": False,
    }
    stored = await all_reviews(api)
    assert stored["r1"]["analysis"] == {
        "sentiment": {"compound": 0.8, "label": "positive"},
        "language": "en",
        "keywords": ["fast", "clean"],
    }
    assert stored["r2"]["analysis"]["sentiment"] == {"compound": -0.6, "label": "negative"}
    assert "analysis" not in stored["r3"]
    assert sorted(stored) == ["r1", "r2", "r3"]  # unknown ids created nothing

    response = await put_analysis(api, job_id, nlp_token, [analysis("r1", "neutral", 0.0)])
    assert response.json()["updated"] == 1
    assert (await all_reviews(api))["r1"]["analysis"]["sentiment"]["label"] == "neutral"


async def test_summary_after_the_job_is_done(api: AsyncTestClient) -> None:
    response = await api.get(f"/apps/{APP}/summary")
    assert response.status_code == 404
    assert response.json() == {"error": "No job for this app", "details": {"app_id": APP}}

    job_id, token = await scraping(api)
    await upload(api, job_id, token, [review("r1", score=5), review("r2", score=2)])
    summary = await api.get(f"/apps/{APP}/summary")
    assert summary.status_code == 404
    assert summary.json() == {
        "error": "No summary yet",
        "details": {"job_id": job_id, "stage": "scraper", "status": "processing"},
    }

    await move(api, job_id, "nlp", "queued", token)
    nlp_token = await claim(api, "nlp", job_id)
    response = await put_analysis(
        api, job_id, nlp_token, [analysis("r1"), analysis("r2", "negative", -0.5)], SUMMARY
    )
    assert response.json() == {"updated": 2, "unknown_review_ids": [], "summary_stored": True}
    summary = await api.get(f"/apps/{APP}/summary")  # stored, but NLP is not finished
    assert summary.status_code == 404
    assert summary.json()["details"] == {"job_id": job_id, "stage": "nlp", "status": "processing"}

    await move(api, job_id, "done", "completed", nlp_token)
    summary = await api.get(f"/apps/{APP}/summary")
    assert summary.status_code == 200
    body = summary.json()
    generated_at = body.pop("generated_at")
    assert generated_at.endswith("Z")
    assert body == {**SUMMARY, "app_id": APP, "job_id": job_id}

    # A new run of the app: a review scraped again unchanged keeps its analysis, and the
    # summary waits for the new run to finish.
    new_job = await add_job(api, force=True)
    new_token = await claim(api, "scraper", new_job)
    response = await upload(api, new_job, new_token, [review("r1", score=5), review("r3")])
    assert response.json() == {"received": 2, "stored": 3}
    stored = await all_reviews(api)
    assert stored["r1"]["analysis"]["sentiment"]["label"] == "positive"
    assert "analysis" not in stored["r3"]
    summary = await api.get(f"/apps/{APP}/summary")
    assert summary.status_code == 404
    assert summary.json()["details"]["job_id"] == new_job


async def finished_run(api: AsyncTestClient, reviews: list[dict], force: bool = False) -> str:
    """A run of APP from add to done: the reviews uploaded, each analysed, a summary stored."""
    job_id = await add_job(api, force=force)
    token = await claim(api, "scraper", job_id)
    assert (await upload(api, job_id, token, reviews)).status_code == 200
    await move(api, job_id, "nlp", "queued", token)
    nlp_token = await claim(api, "nlp", job_id)
    analysed = [analysis(r["review_id"]) for r in reviews]
    assert (await put_analysis(api, job_id, nlp_token, analysed, SUMMARY)).status_code == 200
    await move(api, job_id, "done", "completed", nlp_token)
    return job_id


async def test_a_review_uploaded_again_with_changed_content_loses_its_analysis(
    api: AsyncTestClient,
) -> None:
    """The poisoning of issue 9: add with force on a finished app, claim the new run, upload a
    review under an existing review_id with other content. Its old analysis must not stay on
    it, and the old summary must not be shown for the new reviews."""
    await finished_run(api, [review("r1"), review("r2"), review("r3")])
    assert all("analysis" in r for r in (await all_reviews(api)).values())

    new_job = await add_job(api, force=True)
    token = await claim(api, "scraper", new_job)
    changed = [
        review("r1", content="now I hate it"),
        review("r2", score=1),
        review("r3"),
    ]
    assert (await upload(api, new_job, token, changed)).status_code == 200
    stored = await all_reviews(api)
    assert stored["r1"]["content"] == "now I hate it" and "analysis" not in stored["r1"]
    assert stored["r2"]["score"] == 1 and "analysis" not in stored["r2"]
    assert stored["r3"]["analysis"]["sentiment"] == analysis("r3")["sentiment"]  # unchanged

    # The new run ends without a summary: the old one (of the old reviews) is not shown.
    await move(api, new_job, "nlp", "queued", token)
    nlp_token = await claim(api, "nlp", new_job)
    await move(api, new_job, "done", "completed", nlp_token)
    response = await api.get(f"/apps/{APP}/summary")
    assert response.status_code == 404, response.text
    assert response.json()["details"]["job_id"] == new_job


async def test_a_later_summary_replaces_the_earlier_one(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    await move(api, job_id, "nlp", "queued", token)
    nlp_token = await claim(api, "nlp", job_id)
    assert (await put_analysis(api, job_id, nlp_token, [], SUMMARY)).status_code == 200
    later = {"review_count": 0, "average_rating": None}
    response = await put_analysis(api, job_id, nlp_token, [], later)
    assert response.json() == {"updated": 0, "unknown_review_ids": [], "summary_stored": True}
    await move(api, job_id, "done", "completed", nlp_token)
    body = (await api.get(f"/apps/{APP}/summary")).json()
    assert body["review_count"] == 0
    assert body["average_rating"] is None
    assert body["sentiment"] == {"positive": 0, "neutral": 0, "negative": 0}
    assert body["languages"] == {}
    assert body["per_day"] == {}


async def test_done_without_a_summary_is_404(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    await move(api, job_id, "nlp", "queued", token)
    nlp_token = await claim(api, "nlp", job_id)
    await move(api, job_id, "done", "completed", nlp_token)
    response = await api.get(f"/apps/{APP}/summary")
    assert response.status_code == 404
    assert response.json()["details"] == {"job_id": job_id, "stage": "done", "status": "completed"}


# Bad input


@pytest.mark.parametrize(
    ("reviews", "field", "words"),
    [
        ([review("r1", score=7)], "reviews[0].score", "<= 5"),
        (
            [review("r1"), {k: v for k, v in review("x").items() if k != "review_id"}],
            "reviews[1]",
            "review_id",
        ),
        ([review(f"r{n}") for n in range(501)], "reviews", "<= 500"),
        ([], "reviews", ">= 1"),
        ([review("r1", at="yesterday")], "reviews[0].at", "datetime"),
        ([review("r1", thumbs_up=-1)], "reviews[0].thumbs_up", ">= 0"),
        ([review("")], "reviews[0].review_id", ">= 1"),
    ],
)
async def test_bad_reviews_are_422_naming_the_field(
    api: AsyncTestClient, reviews: list, field: str, words: str
) -> None:
    job_id, token = await scraping(api)
    problems = field_problems(await upload(api, job_id, token, reviews))
    assert problems[0]["field"] == field
    assert words in problems[0]["message"]
    assert (await all_reviews(api)) == {}


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({**analysis("r1"), "sentiment": {"compound": 0.1, "label": "happy"}}, "label"),
        ({**analysis("r1"), "sentiment": {"compound": 1.5, "label": "positive"}}, "compound"),
        ({**analysis("r1"), "keywords": ["k"] * 51}, "keywords"),
    ],
)
async def test_bad_analysis_is_422_naming_the_field(
    api: AsyncTestClient, item: dict, field: str
) -> None:
    job_id, token = await scraping(api)
    await move(api, job_id, "nlp", "queued", token)
    nlp_token = await claim(api, "nlp", job_id)
    problems = field_problems(await put_analysis(api, job_id, nlp_token, [item]))
    assert problems[0]["field"].endswith(field)


async def test_a_bad_summary_day_is_422(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    await move(api, job_id, "nlp", "queued", token)
    nlp_token = await claim(api, "nlp", job_id)
    bad = {**SUMMARY, "per_day": {"yesterday": 3}}
    problems = field_problems(await put_analysis(api, job_id, nlp_token, [], bad))
    assert "per_day" in problems[0]["field"]


BIG = 2**53 + 1
HOSTILE_SUMMARIES = [
    ({"review_count": BIG}, "review_count"),
    ({"rating_distribution": {"6": 1}}, "rating_distribution"),
    ({"rating_distribution": {"1": -1}}, "rating_distribution"),
    ({"per_week": {"week 45": 1}}, "per_week"),
    ({"per_week": {f"{2000 + n // 53}-W{n % 53:02d}": 1 for n in range(601)}}, "per_week"),
    ({"top_issues": [THEME] * 21}, "top_issues"),
    ({"top_issues": [{**THEME, "theme": "x" * 201}]}, "top_issues[0].theme"),
    ({"top_issues": [{**THEME, "share": 1.5}]}, "top_issues[0].share"),
    ({"top_issues": [{**THEME, "review_count": BIG}]}, "top_issues[0].review_count"),
    ({"top_issues": [{**THEME, "example_review_ids": ["r"] * 6}]}, "example_review_ids"),
    ({"top_issues": [{**THEME, "per_version": {"v" * 201: 1}}]}, "per_version"),
    ({"top_issues": [{**THEME, "per_version": {f"v{n}": 1 for n in range(31)}}]}, "per_version"),
    ({"top_issues": [{**THEME, "per_week": {"2026-W01": {"nested": 1}}}]}, "per_week"),
    ({"top_issues": [{**THEME, "extra": 1}]}, "top_issues[0]"),
    ({"top_praises": [{**THEME, "language": "not a code!"}]}, "language"),
    ({"versions": [SUMMARY["versions"][0]] * 51}, "versions"),
    ({"versions": [{**SUMMARY["versions"][0], "average_sentiment": -2}]}, "average_sentiment"),
    ({"versions": [{**SUMMARY["versions"][0], "average_rating": 0.5}]}, "average_rating"),
    ({"versions": [{**SUMMARY["versions"][0], "version": ""}]}, "version"),
]


@pytest.mark.parametrize(("change", "field"), HOSTILE_SUMMARIES)
async def test_a_summary_out_of_bounds_is_422(api: AsyncTestClient, change: dict, field: str):
    job_id, token = await scraping(api)
    await move(api, job_id, "nlp", "queued", token)
    nlp_token = await claim(api, "nlp", job_id)
    problems = field_problems(await put_analysis(api, job_id, nlp_token, [], {**SUMMARY, **change}))
    assert field in problems[0]["field"], problems


async def test_a_summary_stored_before_themes_is_served_with_them_empty(
    api: AsyncTestClient,
) -> None:
    job_id, token = await scraping(api)
    await move(api, job_id, "nlp", "queued", token)
    nlp_token = await claim(api, "nlp", job_id)
    assert (await put_analysis(api, job_id, nlp_token, [], OLD_SUMMARY)).status_code == 200
    await move(api, job_id, "done", "completed", nlp_token)
    body = (await api.get(f"/apps/{APP}/summary")).json()
    assert {key: body[key] for key in OLD_SUMMARY} == OLD_SUMMARY
    assert body["top_issues"] == body["top_praises"] == body["versions"] == []
    assert body["rating_distribution"] == body["per_week"] == {}


async def test_the_nlp_workers_summary_is_accepted_as_it_is(api: AsyncTestClient) -> None:
    from nlp_worker.analysis import analyze_batch
    from nlp_worker.summary import summarize
    from scraper_worker.sources import load_fixture

    reviews = [dict(review) for review in load_fixture("6449012733")]
    summary = summarize(zip(reviews, analyze_batch(reviews), strict=True), "6449012733")
    job_id, token = await scraping(api)
    await move(api, job_id, "nlp", "queued", token)
    nlp_token = await claim(api, "nlp", job_id)
    response = await put_analysis(api, job_id, nlp_token, [], summary)
    assert response.status_code == 200, response.text
    await move(api, job_id, "done", "completed", nlp_token)
    body = (await api.get(f"/apps/{APP}/summary")).json()
    assert {key: body[key] for key in summary} == summary


@pytest.mark.parametrize("cursor", ["!!!", "bm90IGpzb24", "eyJ4IjoxfQ", ""])
async def test_a_bad_cursor_is_422(api: AsyncTestClient, cursor: str) -> None:
    response = await api.get(f"/apps/{APP}/reviews", params={"cursor": cursor})
    assert [p["field"] for p in field_problems(response)] == ["cursor"]


@pytest.mark.parametrize("limit", [0, 501])
async def test_a_bad_limit_is_422(api: AsyncTestClient, limit: int) -> None:
    response = await api.get(f"/apps/{APP}/reviews", params={"limit": limit})
    assert [p["field"] for p in field_problems(response)] == ["limit"]


# Body size


def padded_body(job_id: str, token: str, size: int) -> bytes:
    """A one-review upload of about `size` bytes (the content is far over its own limit)."""
    head = f'{{"job_id":"{job_id}","lease_token":"{token}","reviews":[{{"review_id":"big",'
    tail = '","score":3,"at":"2026-01-01T00:00:00Z"}]}'
    body = head + '"content":"' + "x" * (size - len(head) - len(tail) - 11) + tail
    return body.encode()


async def test_a_body_over_8_mib_is_413(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    response = await api.post(
        f"/apps/{APP}/reviews",
        content=padded_body(job_id, token, 8 * MiB + 1),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]


async def test_a_body_over_the_app_default_but_under_8_mib_is_read(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    response = await api.post(
        f"/apps/{APP}/reviews",
        content=padded_body(job_id, token, 3 * MiB),
        headers={"Content-Type": "application/json"},
    )
    # Read and parsed (not 413): refused for the review's own 20,000-character content limit.
    assert [p["field"] for p in field_problems(response)] == ["reviews[0].content"]


async def test_a_full_batch_of_large_reviews_fits(api: AsyncTestClient) -> None:
    job_id, token = await scraping(api)
    reviews = [review(f"r{n:03d}", content="y" * 4000) for n in range(500)]  # about 2 MiB
    response = await upload(api, job_id, token, reviews)
    assert response.status_code == 200
    assert response.json() == {"received": 500, "stored": 500}
