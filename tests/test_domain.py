from service.domain import (
    DONE_COMPLETED,
    NLP_ERROR,
    NLP_PROCESSING,
    NLP_QUEUED,
    SCRAPER_ERROR,
    SCRAPER_PROCESSING,
    SCRAPER_QUEUED,
    TRANSITIONS,
    Event,
    State,
    Stage,
    Status,
    TransitionNotAllowed,
    allowed_from,
    is_active,
    transition_event,
)


def test_the_seed_lifecycle_is_allowed_in_order():
    path = [SCRAPER_QUEUED, SCRAPER_PROCESSING, NLP_QUEUED, NLP_PROCESSING, DONE_COMPLETED]
    events = [transition_event(a, b) for a, b in zip(path, path[1:], strict=False)]
    assert events == [Event.CLAIMED, Event.STAGE_FINISHED, Event.CLAIMED, Event.COMPLETED]


def test_a_processing_stage_can_fail_and_nothing_else_can():
    assert transition_event(SCRAPER_PROCESSING, SCRAPER_ERROR) == Event.FAILED
    assert transition_event(NLP_PROCESSING, NLP_ERROR) == Event.FAILED
    assert transition_event(SCRAPER_QUEUED, SCRAPER_ERROR) is None
    assert transition_event(NLP_PROCESSING, SCRAPER_ERROR) is None


def test_skipping_a_stage_or_going_back_is_refused():
    assert transition_event(SCRAPER_QUEUED, NLP_QUEUED) is None
    assert transition_event(SCRAPER_PROCESSING, DONE_COMPLETED) is None
    assert transition_event(NLP_QUEUED, SCRAPER_QUEUED) is None
    assert transition_event(DONE_COMPLETED, SCRAPER_QUEUED) is None


def test_terminal_states_allow_nothing():
    for state in (DONE_COMPLETED, SCRAPER_ERROR, NLP_ERROR):
        assert allowed_from(state) == []


def test_allowed_from_lists_every_exit_of_a_state():
    assert allowed_from(SCRAPER_PROCESSING) == sorted([NLP_QUEUED, SCRAPER_ERROR])
    assert allowed_from(NLP_QUEUED) == [NLP_PROCESSING]


def test_every_transition_changes_state_and_starts_from_an_active_one():
    for frm, to in TRANSITIONS:
        assert frm != to
        assert is_active(frm.status)


def test_refusal_names_where_the_job_is_and_where_it_may_go():
    error = TransitionNotAllowed(SCRAPER_QUEUED, DONE_COMPLETED)
    assert error.details["from"] == {"stage": "scraper", "status": "queued"}
    assert error.details["allowed"] == [{"stage": "scraper", "status": "processing"}]
    assert "scraper/queued" in error.message and "done/completed" in error.message


def test_states_read_like_the_seed():
    assert str(State(Stage.NLP, Status.PROCESSING)) == "nlp/processing"
