"""Bodies of the results API (reviews, analysis, summary): msgspec structs and their shaping."""

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType, field

from service.clock import iso, to_millis
from service.schemas import JobId, LeaseToken, invalid

MAX_BATCH = 500
ReviewId = Annotated[str, Meta(min_length=1, max_length=200)]
Keyword = Annotated[str, Meta(min_length=1, max_length=200)]
Keywords = Annotated[list[Keyword], Meta(max_length=50)]
MAX_COUNT = 2**53  # what a JSON number holds exactly
Count = Annotated[int, Meta(ge=0, le=MAX_COUNT)]
LanguageCode = Annotated[str, Meta(min_length=1, max_length=35, pattern=r"^[A-Za-z0-9_-]+$")]
Day = Annotated[str, Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", examples=["2026-01-31"])]


TokenOrHeader = Annotated[
    LeaseToken | None,
    Meta(description="Required, here or as the X-Lease-Token header (422 if neither)"),
]


class Review(Struct, forbid_unknown_fields=True):
    review_id: ReviewId
    content: Annotated[str, Meta(max_length=20_000)]
    score: Annotated[int, Meta(ge=1, le=5)]
    at: Annotated[
        datetime,
        Meta(description="ISO-8601; a time without an offset is UTC; in UTC, years 1 to 9999"),
    ]
    user_name: Annotated[str, Meta(max_length=500)] | None = None
    thumbs_up: Count = 0
    app_version: Annotated[str, Meta(max_length=200)] | None = None
    reply: Annotated[str, Meta(max_length=20_000)] | None = None


class ReviewBatch(Struct, forbid_unknown_fields=True):
    job_id: JobId
    reviews: Annotated[list[Review], Meta(min_length=1, max_length=MAX_BATCH)]
    lease_token: TokenOrHeader = None

    def __post_init__(self) -> None:
        """Every review's time in UTC, to the millisecond MongoDB keeps: the whole batch is
        checked before any of it is stored."""
        for n, review in enumerate(self.reviews):
            try:
                review.at = to_millis(review.at)
            except OverflowError:
                raise invalid(f"reviews[{n}].at", "Out of range once taken to UTC") from None


class Stored(Struct):
    received: int
    stored: int


class Sentiment(Struct, forbid_unknown_fields=True):
    compound: Annotated[float, Meta(ge=-1, le=1)]
    label: Literal["positive", "neutral", "negative"]


class ReviewAnalysis(Struct, forbid_unknown_fields=True):
    review_id: ReviewId
    sentiment: Sentiment
    language: LanguageCode | None = None
    keywords: Keywords = []


Share = Annotated[float, Meta(ge=0, le=1)]
Stars = Annotated[float, Meta(ge=1, le=5)]
Compound = Annotated[float, Meta(ge=-1, le=1)]
Week = Annotated[str, Meta(pattern=r"^\d{4}-W\d{2}$", examples=["2026-W45"])]
Version = Annotated[str, Meta(min_length=1, max_length=200)]
VersionKey = Annotated[  # a key MongoDB stores: no NUL, no leading '$' ("8.1" has its dot)
    str, Meta(min_length=1, max_length=200, pattern=r"^[^$\x00][^\x00]*$")
]
ThemeText = Annotated[str, Meta(min_length=1, max_length=200)]
RatingKey = Annotated[str, Meta(pattern=r"^[1-5]$", description="A star rating, 1 to 5")]


class SentimentCounts(Struct, forbid_unknown_fields=True):
    positive: Count = 0
    neutral: Count = 0
    negative: Count = 0


class TopKeywords(Struct, forbid_unknown_fields=True):
    positive: Keywords = []
    negative: Keywords = []


class Theme(Struct, forbid_unknown_fields=True):
    """A complaint (top_issues) or praise (top_praises) and where it shows."""

    theme: Annotated[ThemeText, Meta(description="its most common wording")]
    language: Annotated[LanguageCode, Meta(description="the language of its reviews")]
    review_count: Annotated[
        Count, Meta(description="negative (issues) or positive (praises) reviews that mention it")
    ]
    share: Annotated[Share, Meta(description="review_count / all the app's reviews")]
    example_review_ids: Annotated[list[ReviewId], Meta(max_length=5, description="newest first")]
    per_week: Annotated[
        dict[Week, Count], Meta(max_length=60, description="its reviews per ISO week (the latest)")
    ]
    per_version: Annotated[
        dict[VersionKey, Count],
        Meta(max_length=30, description="its reviews per app version (the most frequent)"),
    ]


Themes = Annotated[list[Theme], Meta(max_length=20)]


class VersionSummary(Struct, forbid_unknown_fields=True):
    """The reviews of one app version."""

    version: Version
    review_count: Count
    average_rating: Stars | None = None
    average_sentiment: Annotated[Compound, Meta(description="mean sentiment compound")] = 0.0
    sentiment: SentimentCounts = field(default_factory=SentimentCounts)


class Summary(Struct, forbid_unknown_fields=True):
    """An app's summary; README "Results" says how each figure is computed. Every list and map
    is bounded, so a summary stays far below the body limit."""

    review_count: Count
    average_rating: Stars | None = None
    rating_distribution: Annotated[dict[RatingKey, Count], Meta(max_length=5)] = {}
    sentiment: SentimentCounts = field(default_factory=SentimentCounts)
    top_keywords: TopKeywords = field(default_factory=TopKeywords)
    top_issues: Themes = []
    top_praises: Themes = []
    languages: Annotated[dict[LanguageCode, Count], Meta(max_length=500)] = {}
    per_day: Annotated[dict[Day, Count], Meta(max_length=20_000)] = {}
    per_week: Annotated[dict[Week, Count], Meta(max_length=600)] = {}
    versions: Annotated[list[VersionSummary], Meta(max_length=50)] = []


class AnalysisBatch(Struct, forbid_unknown_fields=True):
    job_id: JobId
    reviews: Annotated[list[ReviewAnalysis], Meta(max_length=MAX_BATCH)] = []
    summary: Summary | None = None
    lease_token: TokenOrHeader = None


class AnalysisStored(Struct):
    updated: int
    unknown_review_ids: list[str]
    summary_stored: bool


class Analysis(Struct):
    sentiment: Sentiment
    language: str | None
    keywords: list[str]


class ReviewOut(Struct):
    review_id: str
    content: str
    score: int
    at: str
    user_name: str | None
    thumbs_up: int
    app_version: str | None
    reply: str | None
    analysis: Analysis | UnsetType = UNSET


class ReviewPage(Struct):
    reviews: list[ReviewOut]
    next_cursor: str | None
    total: int


class SummaryView(Summary, kw_only=True):
    app_id: str
    job_id: str
    generated_at: str


def review_out(doc: dict[str, Any]) -> ReviewOut:
    found = doc.get("analysis")
    analysis: Analysis | UnsetType = UNSET
    if found:
        analysis = Analysis(
            sentiment=Sentiment(**found["sentiment"]),
            language=found.get("language"),
            keywords=found.get("keywords") or [],
        )
    return ReviewOut(
        review_id=doc["review_id"],
        content=doc["content"],
        score=doc["score"],
        at=iso(doc["at"]),
        user_name=doc.get("user_name"),
        thumbs_up=doc.get("thumbs_up") or 0,
        app_version=doc.get("app_version"),
        reply=doc.get("reply"),
        analysis=analysis,
    )


def summary_view(doc: dict[str, Any]) -> SummaryView:
    """A stored summary as served; one stored before a field existed shows it empty."""
    return SummaryView(
        app_id=doc["app_id"],
        job_id=doc["job_id"],
        generated_at=iso(doc["generated_at"]),
        review_count=doc["review_count"],
        average_rating=doc.get("average_rating"),
        rating_distribution=doc.get("rating_distribution") or {},
        sentiment=SentimentCounts(**doc["sentiment"]),
        top_keywords=TopKeywords(**doc["top_keywords"]),
        top_issues=[Theme(**theme) for theme in doc.get("top_issues") or []],
        top_praises=[Theme(**theme) for theme in doc.get("top_praises") or []],
        languages=doc.get("languages") or {},
        per_day=doc.get("per_day") or {},
        per_week=doc.get("per_week") or {},
        versions=[_version(entry) for entry in doc.get("versions") or []],
    )


def _version(entry: dict[str, Any]) -> VersionSummary:
    return VersionSummary(
        version=entry["version"],
        review_count=entry["review_count"],
        average_rating=entry.get("average_rating"),
        average_sentiment=entry.get("average_sentiment", 0.0),
        sentiment=SentimentCounts(**entry["sentiment"]),
    )
