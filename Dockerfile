# One image for the service and both workers; the command picks which one runs:
#   review-queue serve ... (the default) | scraper-worker ... | nlp-worker ...
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them:
# install the project with empty packages, then drop it and keep its dependencies.
COPY pyproject.toml README.md ./
RUN mkdir service queue_client scraper_worker nlp_worker demo \
    && pip install . \
    && pip uninstall --yes review-queue \
    && rm -rf service queue_client scraper_worker nlp_worker demo build *.egg-info

COPY service ./service
COPY queue_client ./queue_client
COPY scraper_worker ./scraper_worker
COPY nlp_worker ./nlp_worker
COPY demo ./demo
RUN pip install --no-deps . && rm -rf build *.egg-info

RUN useradd --create-home --uid 10001 --user-group app
USER app

EXPOSE 8000
# Workers stop claiming on SIGTERM, then finish or hand back their jobs (--grace-seconds).
STOPSIGNAL SIGTERM
# The service's health; the workers' containers disable it (compose.yaml).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

CMD ["review-queue", "serve", "--host", "0.0.0.0", "--port", "8000"]
