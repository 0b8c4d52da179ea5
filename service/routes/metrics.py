"""GET /metrics: Prometheus's text format, through Litestar's Prometheus plugin (its
controller, given a role; its middleware times every request)."""

from litestar import MediaType, Response, get
from litestar.di import NamedDependency
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import CONTENT_TYPE_LATEST

from service.access import needs
from service.keys import Role
from service.metrics import HTTP_PREFIX, QueueMetrics
from service.routes.docs import errors

MetricsDep = NamedDependency[QueueMetrics]


def prometheus_config() -> PrometheusConfig:
    """The plugin's middleware: requests counted and timed per route template (not per path,
    which would make a series per job id)."""
    return PrometheusConfig(app_name="review-queue", prefix=HTTP_PREFIX, group_path=True)


class MetricsController(PrometheusController):
    path = "/metrics"
    tags = ["metrics"]

    @get(
        opt=needs(Role.READER),
        media_type=MediaType.TEXT,
        summary="Prometheus metrics (text format): HTTP, jobs by stage and status, the oldest "
        "claimable job's wait, state changes, wait and processing times",
        description="A scraper sends a reader key as a bearer token (Prometheus: "
        "`authorization: {credentials: <key>}`). The job gauges are read at scrape time.",
        responses=errors(bad_request=False),
    )
    async def get(self, metrics: MetricsDep) -> Response[str]:  # type: ignore[override]
        text = (await metrics.exposition()).decode()
        return Response(text, headers={"Content-Type": CONTENT_TYPE_LATEST})
