from itertools import pairwise

import pytest

from service.domain import (
    DONE_COMPLETED,
    NLP_ERROR,
    NLP_PROCESSING,
    NLP_QUEUED,
    SCRAPER_ERROR,
    SCRAPER_PROCESSING,
    SCRAPER_QUEUED,
    TRANSITIONS,
    Actor,
    Event,
    Stage,
    State,
    Status,
    TransitionNotAllowed,
    allowed_from,
    is_active,
    retry_delay,
    worker_move,
)


def event(frm, to):
    move = worker_move(frm, to)
    return move.event if move else None


def test_the_seed_lifecycle_is_allowed_in_order():
    path = [SCRAPER_QUEUED, SCRAPER_PROCESSING, NLP_QUEUED, NLP_PROCESSING, DONE_COMPLETED]
    events = [event(a, b) for a, b in pairwise(path)]
    assert events == [Event.CLAIMED, Event.STAGE_FINISHED, Event.CLAIMED, Event.COMPLETED]


def test_a_processing_stage_can_fail_and_nothing_else_can():
    assert event(SCRAPER_PROCESSING, SCRAPER_ERROR) == Event.FAILED
    assert event(NLP_PROCESSING, NLP_ERROR) == Event.FAILED
    assert event(SCRAPER_QUEUED, SCRAPER_ERROR) is None
    assert event(NLP_PROCESSING, SCRAPER_ERROR) is None


def test_skipping_a_stage_or_going_back_is_refused_to_workers():
    assert event(SCRAPER_QUEUED, NLP_QUEUED) is None
    assert event(SCRAPER_PROCESSING, DONE_COMPLETED) is None
    assert event(NLP_QUEUED, SCRAPER_QUEUED) is None
    assert event(DONE_COMPLETED, SCRAPER_QUEUED) is None
    assert event(SCRAPER_PROCESSING, SCRAPER_QUEUED) == Event.RELEASED, "a hand-back, not a retry"
    assert event(SCRAPER_ERROR, SCRAPER_QUEUED) is None, "requeue is the operator's call"


def test_only_operators_requeue_and_cancel_and_nobody_leaves_done():
    for move in TRANSITIONS:
        if move.event in (Event.REQUEUED, Event.CANCELLED):
            assert move.by == Actor.OPERATOR
        assert move.frm != DONE_COMPLETED
        assert move.frm.status != Status.CANCELLED


def test_terminal_states_allow_workers_nothing():
    for state in (DONE_COMPLETED, SCRAPER_ERROR, NLP_ERROR):
        assert allowed_from(state) == []


def test_allowed_from_lists_every_worker_exit_of_a_state():
    assert allowed_from(SCRAPER_PROCESSING) == sorted([NLP_QUEUED, SCRAPER_ERROR, SCRAPER_QUEUED])
    assert allowed_from(NLP_QUEUED) == [NLP_PROCESSING]


def test_every_transition_changes_state():
    for move in TRANSITIONS:
        assert move.frm != move.to
        assert is_active(move.frm.status) or move.frm.status == Status.ERROR


def test_refusal_names_where_the_job_is_and_where_it_may_go():
    error = TransitionNotAllowed(SCRAPER_QUEUED, DONE_COMPLETED)
    assert error.details["from"] == {"stage": "scraper", "status": "queued"}
    assert error.details["allowed"] == [{"stage": "scraper", "status": "processing"}]
    assert "scraper/queued" in error.message and "done/completed" in error.message


def test_states_read_like_the_seed():
    assert str(State(Stage.NLP, Status.PROCESSING)) == "nlp/processing"


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 2), (2, 4), (3, 8), (8, 256), (9, 300), (30, 300)]
)
def test_backoff_doubles_from_the_base_and_is_capped(attempt, expected):
    assert retry_delay(attempt, base=2, cap=300, jitter=0) == expected


def test_backoff_jitter_is_a_fraction_of_the_delay():
    assert retry_delay(3, base=2, cap=300, jitter=0.1) == pytest.approx(8.8)
    assert retry_delay(9, base=2, cap=300, jitter=-0.1) == pytest.approx(270)
