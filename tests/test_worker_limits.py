"""The workers keep their own copies of the service's limits (they talk to it over HTTP and do
not import it): each copy must agree with the service's schema, or a worker would send what
the service refuses, and a whole batch or summary would fail."""

import msgspec
import pytest

from nlp_worker import analysis, summary
from nlp_worker import processor as nlp_processor
from scraper_worker import processor as scraper_processor
from scraper_worker.cli import main as scraper_worker
from scraper_worker.shape import LIMITS
from service import results_schemas
from service.domain import MAX_LEASE_SECONDS


def max_length(struct: type, name: str) -> int:
    """The max_length the service's schema sets on a field (of its str, list or dict)."""
    [field] = [f for f in msgspec.inspect.type_info(struct).fields if f.name == name]
    found = field.type
    if isinstance(found, msgspec.inspect.UnionType):  # Optional: the non-None member
        [found] = [t for t in found.types if not isinstance(t, msgspec.inspect.NoneType)]
    return found.max_length


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_the_scraper_clips_each_field_to_the_services_limit(name):
    assert LIMITS[name] == max_length(results_schemas.Review, name)


def test_the_nlp_worker_reads_no_more_text_than_the_service_keeps():
    assert max_length(results_schemas.Review, "content") == analysis.MAX_TEXT


def test_batches_fit_what_the_service_takes_in_one_call():
    assert max_length(results_schemas.ReviewBatch, "reviews") >= scraper_processor.BATCH_SIZE
    assert nlp_processor.BATCH_SIZE == results_schemas.MAX_BATCH
    assert max_length(results_schemas.AnalysisBatch, "reviews") == results_schemas.MAX_BATCH


def test_the_summary_keeps_no_more_days_weeks_or_versions_than_the_service_stores():
    assert max_length(results_schemas.Summary, "per_day") == summary.MAX_DAYS
    assert max_length(results_schemas.Summary, "per_week") >= summary.MAX_WEEKS
    assert max_length(results_schemas.Summary, "versions") >= summary.MAX_VERSIONS
    assert max_length(results_schemas.VersionSummary, "version") == summary.MAX_VERSION_CHARS


def test_a_worker_asks_for_no_longer_lease_than_the_service_grants():
    [lease] = [p for p in scraper_worker.params if "--lease-seconds" in p.opts]
    assert lease.type.max == MAX_LEASE_SECONDS
