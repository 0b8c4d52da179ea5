"""The /queue API through Litestar's test client (embedded store; real MongoDB when given)."""

import pytest

from tests.helpers import add, claim, history, update


async def drive_to_done(client, app_id: str) -> str:
    job_id = (await add(client, app_id))["job_id"]
    [job] = await claim(client, "scraper")
    assert (
        await update(client, job_id, "nlp", "queued", lease_token=job["lease_token"])
    ).is_success
    [job] = await claim(client, "nlp")
    done = await update(client, job_id, "done", "completed", lease_token=job["lease_token"])
    assert done.status_code == 200, done.text
    return job_id


# /queue/add


async def test_add_creates_a_queued_job_with_201(client):
    response = await client.post("/queue/add", json={"app_id": "com.spotify.music"})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "queued" and body["stage"] == "scraper" and body["job_id"]
    job = (await client.get(f"/queue/jobs/{body['job_id']}")).json()
    assert job["app_id"] == "com.spotify.music"
    assert (job["stage"], job["status"], job["priority"]) == ("scraper", "queued", 5)
    assert job["requested_at"].endswith("Z") and job["retries"] == 0


async def test_add_twice_answers_queued_already_with_the_current_status(client):
    first = await add(client, "com.spotify.music")
    await claim(client, "scraper")
    response = await client.post("/queue/add", json={"app_id": "com.spotify.music"})
    assert response.status_code == 200
    assert response.json() == {
        "status": "queued_already",
        "stage": "scraper",
        "current_status": "processing",
        "job_id": first["job_id"],
    }


async def test_add_of_a_done_app_answers_exists_unless_forced(client):
    job_id = await drive_to_done(client, "com.duolingo")
    response = await client.post("/queue/add", json={"app_id": "com.duolingo"})
    assert response.status_code == 200
    assert response.json() == {"status": "exists", "message": "Already done", "job_id": job_id}
    forced = await client.post("/queue/add", json={"app_id": "com.duolingo", "force": True})
    assert forced.status_code == 201
    assert forced.json()["job_id"] != job_id
    status = (await client.get("/queue/status/com.duolingo")).json()
    assert status["job_id"] == forced.json()["job_id"] and status["status"] == "queued"


async def test_add_after_an_error_queues_a_new_run(client):
    job_id = (await add(client, "com.whatsapp"))["job_id"]
    [job] = await claim(client, "scraper")
    failed = await update(
        client,
        job_id,
        "scraper",
        "error",
        lease_token=job["lease_token"],
        error_message="boom",
        retryable=False,
    )
    assert failed.json()["status"] == "error"
    response = await client.post("/queue/add", json={"app_id": "com.whatsapp"})
    assert response.status_code == 201 and response.json()["job_id"] != job_id


async def test_add_keeps_priority_and_params(client):
    body = await add(client, "284882215", priority=9, params={"lang": "de", "country": "de"})
    job = (await client.get(f"/queue/jobs/{body['job_id']}")).json()
    assert job["priority"] == 9 and job["params"] == {"lang": "de", "country": "de"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"app_id": "com spotify"}, "app_id"),
        ({"app_id": "com/spotify"}, "app_id"),
        ({"app_id": ""}, "app_id"),
        ({"app_id": "a" * 257}, "app_id"),
        ({"app_id": 42}, "app_id"),
        ({}, "app_id"),
        ({"app_id": "ok", "priority": 0}, "priority"),
        ({"app_id": "ok", "priority": 11}, "priority"),
        ({"app_id": "ok", "priority": "extreme"}, "priority"),  # not one of the names
        ({"app_id": "ok", "params": "lang=en"}, "params"),
        ({"app_id": "ok", "force": "yes"}, "force"),
        ({"app_id": "ok", "stauts": "x"}, "stauts"),
    ],
)
async def test_bad_add_bodies_get_422_naming_the_field_and_change_nothing(client, body, field):
    response = await client.post("/queue/add", json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert field in error["error"]
    assert [d["field"] for d in error["details"]] == [field]
    assert (await client.get("/queue/overview")).json()["counts"] == {}


async def test_an_app_id_of_256_characters_is_accepted(client):
    response = await client.post("/queue/add", json={"app_id": "a" * 256})
    assert response.status_code == 201


@pytest.mark.parametrize("raw", [b"{", b"not json", b"", b'{"app_id": "x"'])
async def test_malformed_json_is_a_400(client, raw):
    response = await client.post(
        "/queue/add", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "JSON" in response.json()["error"]


@pytest.mark.parametrize("raw", [b"[1, 2]", b"17", b'"com.spotify.music"', b"null"])
async def test_json_that_is_not_an_object_is_a_422(client, raw):
    response = await client.post(
        "/queue/add", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("valid_json", [True, False])
async def test_bodies_over_one_mebibyte_get_413(client, valid_json):
    padding = "a" * (1024 * 1024 + 10)
    raw = f'{{"app_id": "x", "params": {{"p": "{padding}"}}}}' if valid_json else padding
    response = await client.post(
        "/queue/add", content=raw.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "larger than 1048576 bytes" in response.json()["error"]


# GET /queue/poll (read-only listing)


async def test_poll_lists_highest_priority_first_then_oldest(client):
    low = (await add(client, "app.low", priority=1))["job_id"]
    old = (await add(client, "app.old"))["job_id"]
    new = (await add(client, "app.new"))["job_id"]
    high = (await add(client, "app.high", priority=10))["job_id"]
    response = await client.get("/queue/poll?stage=scraper&status=queued&limit=10")
    assert response.status_code == 200
    assert [j["job_id"] for j in response.json()] == [high, old, new, low]
    assert [
        j["job_id"] for j in (await client.get("/queue/poll?stage=scraper&status=queued")).json()
    ] == [high]


async def test_poll_is_read_only_and_filters_by_stage_and_status(client):
    await add(client, "app.a")
    await add(client, "app.b")
    [claimed] = await claim(client, "scraper")
    queued = (await client.get("/queue/poll?stage=scraper&status=queued&limit=5")).json()
    again = (await client.get("/queue/poll?stage=scraper&status=queued&limit=5")).json()
    assert queued == again and len(queued) == 1
    processing = (await client.get("/queue/poll?stage=any&status=processing&limit=5")).json()
    assert [j["job_id"] for j in processing] == [claimed["job_id"]]
    assert "lease_token" not in processing[0]
    everything = (await client.get("/queue/poll?stage=any&status=any&limit=100")).json()
    assert len(everything) == 2
    assert (await client.get("/queue/poll?stage=nlp&status=any")).json() == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=queued", "stage"),
        ("stage=scraper", "status"),
        ("stage=scrapr&status=queued", "stage"),
        ("stage=scraper&status=waiting", "status"),
        ("stage=scraper&status=queued&limit=0", "limit"),
        ("stage=scraper&status=queued&limit=101", "limit"),
        ("stage=scraper&status=queued&limit=many", "limit"),
    ],
)
async def test_bad_poll_queries_get_422_naming_the_parameter(client, query, field):
    response = await client.get(f"/queue/poll?{query}")
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["details"]] == [field]


async def test_a_bad_enum_value_lists_the_values_this_route_takes(client):
    response = await client.get("/queue/poll?stage=scrapr&status=queued")
    assert response.json()["details"][0]["allowed"] == ["scraper", "nlp", "done", "any"]
    claim = await client.post("/queue/poll", json={"stage": "done", "worker_id": "w"})
    assert claim.json()["details"][0]["allowed"] == ["scraper", "nlp"]


# POST /queue/poll (claim)


async def test_claim_returns_the_job_processing_under_a_lease(client):
    job_id = (await add(client, "com.spotify.music"))["job_id"]
    response = await client.post("/queue/poll", json={"stage": "scraper", "worker_id": "w-7"})
    assert response.status_code == 200
    [job] = response.json()
    assert job["job_id"] == job_id and job["status"] == "processing"
    assert job["worker_id"] == "w-7" and job["attempt"] == 1
    assert len(job["lease_token"]) >= 16 and job["lease_expires_at"] > job["updated_at"]


async def test_claim_takes_up_to_limit_and_then_nothing(client):
    for n in range(3):
        await add(client, f"app.{n}")
    assert len(await claim(client, "scraper", limit=2)) == 2
    assert len(await claim(client, "scraper", limit=5)) == 1
    assert await claim(client, "scraper") == []
    assert await claim(client, "nlp") == []


async def test_claim_takes_the_worker_id_from_the_header(client):
    await add(client, "app.a")
    response = await client.post(
        "/queue/poll", json={"stage": "scraper"}, headers={"X-Worker-ID": "from-header"}
    )
    assert response.json()[0]["worker_id"] == "from-header"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stage": "scraper"}, "worker_id"),
        ({"stage": "done", "worker_id": "w"}, "stage"),
        ({"worker_id": "w"}, "stage"),
        ({"stage": "nlp", "worker_id": "w", "limit": 51}, "limit"),
        ({"stage": "nlp", "worker_id": "w", "lease_seconds": 0}, "lease_seconds"),
        ({"stage": "nlp", "worker_id": "w", "lease_seconds": 3601}, "lease_seconds"),
        ({"stage": "nlp", "worker_id": ""}, "worker_id"),
    ],
)
async def test_bad_claims_get_422_naming_the_field(client, body, field):
    response = await client.post("/queue/poll", json=body)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["details"]] == [field]


# POST /queue/{id}/update


async def test_the_seed_flow_without_worker_ids_runs_to_done(client):
    job_id = (await add(client, "com.spotify.music"))["job_id"]
    [listed] = (await client.get("/queue/poll?stage=scraper&status=queued")).json()
    assert listed["job_id"] == job_id
    steps = [
        ("scraper", "processing"),
        ("nlp", "queued"),
        ("nlp", "processing"),
        ("done", "completed"),
    ]
    for stage, status in steps:
        response = await update(client, job_id, stage, status)
        assert response.status_code == 200, response.text
        assert (response.json()["stage"], response.json()["status"]) == (stage, status)
    rows = await history(client, job_id)
    assert [(r["stage"], r["status"]) for r in rows] == [("scraper", "queued"), *steps]
    assert [r["event"] for r in rows] == [
        "created",
        "claimed",
        "stage_finished",
        "claimed",
        "completed",
    ]


async def test_update_of_an_unknown_job_is_404(client):
    response = await update(client, "no-such-job", "nlp", "queued")
    assert response.status_code == 404
    assert response.json() == {"error": "Job not found", "details": {"job_id": "no-such-job"}}


async def test_a_disallowed_transition_is_409_listing_what_is_allowed(client):
    job_id = (await add(client, "app.a"))["job_id"]
    response = await update(client, job_id, "done", "completed")
    assert response.status_code == 409
    error = response.json()
    assert error["details"]["from"] == {"stage": "scraper", "status": "queued"}
    assert error["details"]["allowed"] == [{"stage": "scraper", "status": "processing"}]
    assert len(await history(client, job_id)) == 1


async def test_claiming_a_claimed_job_is_409_with_retry(client):
    job_id = (await add(client, "app.a"))["job_id"]
    first = await client.post(
        f"/queue/{job_id}/update",
        json={"stage": "scraper", "status": "processing"},
        headers={"X-Worker-ID": "a"},
    )
    assert first.status_code == 200 and first.json()["lease_token"]
    second = await client.post(
        f"/queue/{job_id}/update",
        json={"stage": "scraper", "status": "processing"},
        headers={"X-Worker-ID": "b"},
    )
    assert second.status_code == 409
    assert second.json()["error"] == "Job was already claimed by another worker"
    assert second.json()["retry"] is True
    again = await client.post(
        f"/queue/{job_id}/update",
        json={"stage": "scraper", "status": "processing"},
        headers={"X-Worker-ID": "a"},
    )
    assert again.status_code == 200 and again.json()["lease_token"] == first.json()["lease_token"]


async def test_a_leased_job_needs_its_token_and_a_wrong_one_changes_nothing(client):
    job_id = (await add(client, "app.a"))["job_id"]
    [job] = await claim(client, "scraper")
    missing = await update(client, job_id, "nlp", "queued")
    wrong = await update(client, job_id, "nlp", "queued", lease_token="not-the-token")
    assert missing.status_code == wrong.status_code == 409
    assert "lease_token" in missing.json()["error"]
    assert wrong.json()["details"]["current"] == {"stage": "scraper", "status": "processing"}
    assert len(await history(client, job_id)) == 2
    by_header = await client.post(
        f"/queue/{job_id}/update",
        json={"stage": "nlp", "status": "queued"},
        headers={"X-Lease-Token": job["lease_token"]},
    )
    assert by_header.status_code == 200 and by_header.json()["status"] == "queued"


async def test_repeating_a_transition_with_the_same_token_answers_200_once_in_history(client):
    job_id = (await add(client, "app.a"))["job_id"]
    [job] = await claim(client, "scraper")
    first = await update(client, job_id, "nlp", "queued", lease_token=job["lease_token"])
    again = await update(client, job_id, "nlp", "queued", lease_token=job["lease_token"])
    assert first.status_code == again.status_code == 200
    assert again.json()["stage"] == "nlp"
    rows = await history(client, job_id)
    assert [r["event"] for r in rows].count("stage_finished") == 1
    [nlp_job] = await claim(client, "nlp", worker_id="n")
    late = await update(client, job_id, "nlp", "queued", lease_token=job["lease_token"])
    assert late.status_code == 200, "a retry after the job moved on still went through once"
    stranger = await update(client, job_id, "nlp", "queued", lease_token="other")
    assert stranger.status_code == 409
    assert nlp_job["lease_token"] != job["lease_token"]


async def test_error_keeps_the_message_and_progress_is_stored(client):
    job_id = (await add(client, "app.a"))["job_id"]
    [job] = await claim(client, "scraper")
    token = job["lease_token"]
    assert (
        await client.post(f"/queue/{job_id}/heartbeat", json={"lease_token": token, "progress": 40})
    ).is_success
    failed = await update(
        client,
        job_id,
        "scraper",
        "error",
        lease_token=token,
        error_message="store said 503",
        retryable=False,
    )
    assert failed.json()["error_message"] == "store said 503"
    status = (await client.get("/queue/status/app.a")).json()
    assert status["status"] == "error" and status["error_message"] == "store said 503"
    assert (await history(client, job_id))[-1]["error_message"] == "store said 503"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stage": "nlp"}, "status"),
        ({"status": "queued"}, "stage"),
        ({"stage": "nlp", "status": "waiting"}, "status"),
        ({"stage": "nlp", "status": "queued", "progress": 101}, "progress"),
        ({"stage": "nlp", "status": "queued", "lease_token": 5}, "lease_token"),
    ],
)
async def test_bad_update_bodies_get_422(client, body, field):
    job_id = (await add(client, "app.a"))["job_id"]
    response = await client.post(f"/queue/{job_id}/update", json=body)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["details"]] == [field]


# heartbeat


async def test_heartbeat_extends_the_lease_and_records_progress(client):
    await add(client, "app.a")
    [job] = await claim(client, "scraper", lease_seconds=30)
    response = await client.post(
        f"/queue/{job['job_id']}/heartbeat",
        json={"lease_token": job["lease_token"], "progress": 55.5, "message": "page 3"},
    )
    assert response.status_code == 200
    beat = response.json()
    assert beat["lease_expires_at"] >= job["lease_expires_at"]
    assert beat["progress"] == 55.5 and beat["progress_message"] == "page 3"
    status = (await client.get("/queue/status/app.a")).json()
    assert status["progress"] == 55.5
    assert len(await history(client, job["job_id"])) == 2, "heartbeats write no history"


async def test_heartbeat_with_a_wrong_token_or_after_finishing_is_409(client):
    await add(client, "app.a")
    [job] = await claim(client, "scraper")
    url = f"/queue/{job['job_id']}/heartbeat"
    assert (await client.post(url, json={"lease_token": "nope"})).status_code == 409
    await update(client, job["job_id"], "nlp", "queued", lease_token=job["lease_token"])
    assert (await client.post(url, json={"lease_token": job["lease_token"]})).status_code == 409
    assert (await client.post("/queue/x/heartbeat", json={"lease_token": "t"})).status_code == 404
    assert (await client.post(url, json={})).status_code == 422


# status, overview, jobs, history, health, schema


async def test_status_of_an_unknown_app_is_404(client):
    response = await client.get("/queue/status/com.unknown")
    assert response.status_code == 404 and response.json()["error"]


async def test_status_shows_the_seed_fields(client):
    await add(client, "com.spotify.music")
    status = (await client.get("/queue/status/com.spotify.music")).json()
    for field in ("job_id", "app_id", "status", "stage", "requested_at", "updated_at", "retries"):
        assert field in status


async def test_overview_counts_active_and_today(client):
    await drive_to_done(client, "app.done")
    await add(client, "app.working")
    [working] = await claim(client, "scraper")
    await add(client, "app.waiting")
    failing = (await add(client, "app.failing", priority=10))["job_id"]
    [job] = await claim(client, "scraper")
    assert job["job_id"] == failing
    await update(
        client, failing, "scraper", "error", lease_token=job["lease_token"], retryable=False
    )
    overview = (await client.get("/queue/overview")).json()
    assert overview["timestamp"].endswith("Z")
    assert overview["done_jobs_today"] == 1 and overview["error_jobs_today"] == 1
    assert overview["active_total"] == 2
    assert {j["app_id"] for j in overview["active_jobs"]} == {"app.waiting", "app.working"}
    assert overview["counts"] == {"scraper": {"queued": 1, "processing": 1}}
    assert overview["finished_today"] == {"done": {"completed": 1}, "scraper": {"error": 1}}
    assert working["app_id"] == "app.working"
    big = {"blob": "x" * 15_000}
    await add(client, "app.params", params=big)
    listed = (await client.get("/queue/overview")).json()["active_jobs"]
    assert all("params" not in job for job in listed)  # a list of jobs stays small
    one = next(j for j in listed if j["app_id"] == "app.params")
    assert (await client.get(f"/queue/jobs/{one['job_id']}")).json()["params"] == big
    limited = (await client.get("/queue/overview?limit=1")).json()
    assert len(limited["active_jobs"]) == 1 and limited["active_total"] == 3
    assert (await client.get("/queue/overview?limit=0")).status_code == 422


async def test_history_of_an_unknown_job_is_404(client):
    assert (await client.get("/queue/jobs/nope/history")).status_code == 404
    assert (await client.get("/queue/jobs/nope")).status_code == 404


async def test_health_answers_200_when_the_store_answers(client):
    response = await client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


async def test_openapi_documents_every_route_and_its_errors(client):
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path in (
        "/queue/add",
        "/queue/poll",
        "/queue/{job_id}/update",
        "/queue/{job_id}/heartbeat",
        "/queue/status/{app_id}",
        "/queue/overview",
        "/queue/jobs/{job_id}",
        "/queue/jobs/{job_id}/history",
        "/health",
    ):
        assert path in paths, path
    update_responses = paths["/queue/{job_id}/update"]["post"]["responses"]
    assert {"200", "404", "409", "422", "413"} <= set(update_responses)
    assert "ErrorBody" in str(update_responses["409"])


async def test_the_openapi_document_says_what_the_service_does(client):
    schema = (await client.get("/schema/openapi.json")).json()
    paths, components = schema["paths"], schema["components"]["schemas"]
    assert {"200", "201"} <= set(paths["/queue/add"]["post"]["responses"])
    for path, operations in paths.items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            if method in ("post", "put"):
                assert "415" in codes, (method, path)
            for code in codes - {"200", "201", "204"}:  # every error answer is ours
                assert "ErrorBody" in str(operation["responses"][code]), (method, path, code)
    assert components["ErrorBody"]["required"] == ["error", "details"]
    add_job = components["AddJob"]
    assert add_job["additionalProperties"] is False and add_job["required"] == ["app_id"]
    assert add_job["properties"]["params"]["maxProperties"] == 100
    thumbs_up = components["Review"]["properties"]["thumbs_up"]
    assert (thumbs_up["minimum"], thumbs_up["maximum"]) == (0, 2**53)
    assert components["ReviewBatch"]["properties"]["reviews"]["maxItems"] == 500
    claim_body = components["Claim"]["properties"]["worker_id"]
    assert "X-Worker-ID" in claim_body["description"]
    [job_id] = paths["/queue/jobs/{job_id}"]["get"]["parameters"]
    assert job_id["schema"]["maxLength"] == 64
    links = paths["/queue/add"]["post"]["responses"]["201"]["links"]
    assert links["GetJob"]["parameters"] == {"job_id": "$response.body#/job_id"}


@pytest.mark.parametrize(
    ("method", "url", "raw"),
    [
        ("POST", "/queue/add", b'{"app_id": null}'),
        ("POST", "/queue/poll", b'{"stage": ["scraper"], "worker_id": "w"}'),
        ("POST", "/queue/x/update", b'{"stage": "nlp", "status": "queued", "progress": "NaN"}'),
        ("POST", "/queue/x/heartbeat", b"\xff\xfe"),
        ("GET", "/queue/poll?stage=%00&status=queued", b""),
        ("GET", "/queue/status/%F0%9F%92%A9", b""),
        ("DELETE", "/queue/add", b""),
        ("POST", "/queue/overview", b"{}"),
    ],
)
async def test_no_malformed_request_gets_a_500(client, method, url, raw):
    response = await client.request(
        method, url, content=raw, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert "error" in response.json()
