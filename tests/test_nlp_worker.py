"""The NLP worker: per-review analysis, the app summary, the processor against a fake
job context, and the CLI."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import date, timedelta
from importlib import resources
from typing import Any

import pytest
from click.testing import CliRunner

from nlp_worker import sentiment
from nlp_worker.analysis import MAX_TEXT, analyze_batch, analyze_review, get_analyzer
from nlp_worker.lexicon import load
from nlp_worker.processor import BATCH_SIZE, process_nlp_job, streaming_percent
from nlp_worker.sentiment import label_for, rating_compound
from nlp_worker.summary import MAX_DAYS, _week, moment, summarize
from nlp_worker.text import tokenize
from queue_client.errors import NonRetryableError
from service.results_schemas import MAX_BATCH

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


def label(content: str, score: int | None = 3) -> str:
    return analyze_review({"review_id": "x", "content": content, "score": score})["sentiment"][
        "label"
    ]


# -- analysis ---------------------------------------------------------------------------


def test_clear_english_reviews():
    positive = analyze_review(review("r1", POSITIVE, score=5))
    assert positive["review_id"] == "r1"
    assert positive["language"] == "en"
    assert positive["sentiment"]["label"] == "positive"
    assert positive["sentiment"]["compound"] > 0.5
    negative = analyze_review(review("r2", NEGATIVE, score=1))
    assert negative["sentiment"]["label"] == "negative"
    assert negative["sentiment"]["compound"] < -0.5
    assert "crashing" in " ".join(negative["keywords"])
    assert label(NEUTRAL, 3) == "neutral"


@pytest.mark.parametrize(
    ("text", "score", "expected"),
    [
        ("Worst update ever, please fix!", 5, "negative"),  # the text overrides the stars
        ("Great design but it crashes every time", 4, "negative"),  # contrast
        ("Used to be great, now it is full of ads", 3, "negative"),  # loss
        ("It was perfect until the last update", 4, "negative"),
        ("Not bad at all, really useful", 3, "positive"),  # negation
        ("Never had a single crash", 4, "positive"),
        ("Really useful, though the colours are a bit dull", 4, "positive"),  # concession
        ("Amazing app, I accidentally gave one star", 1, "positive"),  # misrated
        ("It's okay", 3, "neutral"),
        ("How do I change the language?", 2, "negative"),  # no opinion: the stars
        ("", 2, "negative"),  # no text: the stars
        ("Seit dem Update stürzt sie ständig ab, bitte beheben", 5, "negative"),
        ("Antes era buenísima, ahora no funciona", 4, "negative"),
        ("Pas mal du tout, je recommande", 3, "positive"),
        ("最悪のアップデート", 4, "negative"),
        ("非常好用", 2, "positive"),
    ],
)
def test_text_and_stars_together(text, score, expected):
    assert label(text, score) == expected


@pytest.mark.parametrize(
    ("text", "score", "expected"),
    [
        # a word or two against the stars does not turn them; a clear text does
        ("I lost 10 pounds with this app", 5, "positive"),
        ("Free", 2, "negative"),
        ("Amazing, love it!", 1, "positive"),
        ("Don't waste your money", 3, "negative"),
        # what the app should do, negated, is a failure; the negation stops there
        ("Won't even open since the update", 4, "negative"),
        ("Не открывается после обновления", 2, "negative"),  # noqa: RUF001
        ("Was good, but since the update I can't log in", 4, "negative"),  # "was ..., but"
        # a contrast at the start of a sentence turns the one before
        ("Great app. But since the last update it keeps crashing.", 5, "negative"),
        # caveats do not make a text two-sided
        ("My only complaint is that it is a bit slow, otherwise perfect", 5, "positive"),
        ("Perfekt, bis auf ein bisschen Werbung ab und zu", 5, "positive"),
        ("Good app but a little slow sometimes", 4, "positive"),
        # faint praise stays faint; three stars stay neutral unless the text is one-sided
        ("Not the best, but not bad either", 3, "neutral"),
        # requests and questions take no side: the stars decide (benchmarks/LABELLING.md)
        ("Can you add a dark mode?", 5, "positive"),
        ("Would be nice to have a widget", 4, "positive"),
        ("Can you add a dark mode?", 3, "neutral"),
    ],
)
def test_when_the_text_overrides_the_stars(text, score, expected):
    assert label(text, score) == expected


def test_a_german_compound_is_read_by_its_last_part():
    sentiment = get_analyzer().analyze_text("Ständige Verbindungsfehler", 3)["sentiment"]
    assert sentiment["compound"] < -0.2
    assert label("Ständige Verbindungsfehler", 2) == "negative"


@pytest.mark.parametrize(
    ("text", "score", "expected"),
    [
        # irony: praise beside a complaint and an ironic cue, in any language
        ("Great, another update that breaks everything", 5, "negative"),
        ("Bravo, encore une mise à jour qui casse tout 👏", 4, "negative"),
        ("又是一次把一切都搞坏的更新，真棒👏", 4, "negative"),  # noqa: RUF001
        # a wish is neither praise nor blame; praise in a conceded clause stays conceded
        ("Wäre cool wenn man die Listen exportieren könnte.", 3, "neutral"),
        ("Design soigné, même s'il manque quelques trucs", 4, "positive"),
        # a complaint about the past, or one that was fixed, is gone
        ("muy completa, eso sí, un poco complicada al principio", 4, "positive"),
        ("The new update fixed all the bugs I had, thanks devs.", 4, "positive"),
        # a turned text against the stars: the text said which side wins
        ("Love the idea but it literally won't open on my tablet since Tuesday", 5, "negative"),
        # five stars "so you see this" are not a verdict
        ("打五星让你们看到：从昨天开始就打不开了，赶紧修复", 5, "negative"),  # noqa: RUF001
        # as people type: emoticons, ratings, held-down letters, no accents, slips, capitals
        ("pretty good :)", 3, "positive"),
        ("0/10", 3, "negative"),
        ("soooo goooood", 2, "positive"),
        ("nie dziala, zenada", 3, "negative"),
        ("horible app, dissapointed", 3, "negative"),
        ("jsp pk mais ça marche plus depuis hier", 2, "negative"),
        # short texts: the lexicons say which language ("c'est de la merde" is not Dutch)
        ("c'est de la merde", 3, "negative"),
        ("Prima", 4, "positive"),
    ],
)
def test_classes_of_review_writing(text, score, expected):
    assert label(text, score) == expected


@pytest.mark.xfail(
    strict=True,
    reason="known miss since round 6: mild praise of a word or two on 3 stars is neutral "
    "(LABELLING.md rule 1 says positive); in the training sets such praise on 3 stars is "
    "mostly two-sided text. Strict: a model that gets it right makes this fail, to be moved "
    "into the tests above.",
)
@pytest.mark.parametrize("text", ["soooo goooood", "so good", "Prima"])
def test_mild_praise_of_a_word_or_two_on_three_stars(text):
    assert label(text, 3) == "positive"


@pytest.mark.parametrize(
    ("language", "diminished", "more"),
    [("en", "a bit slow", "and buggy"), ("nl", "een beetje traag", "en irritant"),
     ("de", "ein bisschen langsam", "und nervig"), ("pl", "trochę wolna", "i irytująca")],
)  # fmt: skip
def test_a_diminisher_does_not_reach_past_its_languages_and(language, diminished, more):
    lexicon = get_analyzer().lexicons[language]

    def reading(text):
        return sentiment.read(tokenize(text, lexicon), lexicon)

    alone, both = reading(diminished), reading(f"{diminished} {more}")
    assert both.negative > 3 * alone.negative and both.caveats == alone.caveats > 0


def test_english_i_is_not_polish_and():
    lexicon = get_analyzer().lexicons["en"]
    found = sentiment.read(tokenize("A little thing I dislike: the font", lexicon), lexicon)
    assert found.caveats == found.negative > 0  # "a little" reaches "dislike"


def test_a_short_texts_language_is_the_one_whose_lexicon_reads_it():
    # lingua alone ranks Dutch first
    assert analyze_review(review("s", "c'est de la merde"))["language"] == "fr"


@pytest.mark.parametrize(
    ("language", "typed", "written"),
    [("pl", "zenada", "żenada"), ("es", "increible", "increíble"), ("pl", "swietna", "świetna")],
)
def test_a_word_typed_without_its_accents_is_read_as_the_word(language, typed, written):
    lexicon = load(language)
    listed = (resources.files("nlp_worker") / "lexicons" / f"{language}.txt").read_text()
    assert f"\n{typed} " not in listed and f"\n{typed[:5]}* " not in listed  # generated
    assert lexicon.valence(typed) == lexicon.valence(written) is not None


def test_non_english_text_counts_not_just_the_stars():
    assert label(SPANISH, 3) == "positive"
    assert label(GERMAN, 3) == "negative"
    assert analyze_review(review("de", GERMAN, 1))["language"] == "de"


@pytest.mark.parametrize("text", ["Prima", "soooo goooood"])  # taken for Italian, Polish
def test_a_short_text_its_language_cannot_read_is_read_with_the_others(text):
    analyzer = get_analyzer()
    lexicon = analyzer.lexicons[analyzer.languages.detect(text) or "en"]
    assert sentiment.score(tokenize(text, lexicon), lexicon, 3).evidence == 0  # its own: nothing
    assert label(text, None) == "positive"  # Dutch, German, English do
    assert analyze_review(review("p", text, 3))["sentiment"]["compound"] > 0.2
    assert label("Used it once", 5) == "positive"  # no lexicon reads it: the stars


def test_without_a_rating_the_text_decides():
    assert label(SPANISH, None) == "positive"
    assert label("Terrible, crashes all the time", None) == "negative"
    result = analyze_review({"review_id": "x", "content": NEUTRAL})
    assert result["sentiment"] == {"compound": 0.0, "label": "neutral"}


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
    assert emoji["sentiment"]["label"] == "positive"  # emoji say it, whatever the stars
    assert analyze_review(review("p", "!!! ???", score=5))["language"] is None
    assert analyze_review(review("k", "좋은 앱이에요", score=5))["language"] is None  # unsupported


def test_languages_on_short_text():
    for text in ("good", "nice", "worst app ever", "Love it", "ok"):
        assert analyze_review(review("s", text))["language"] == "en", text
    assert analyze_review(review("s", "Sehr gute App"))["language"] == "de"
    assert analyze_review(review("z", CHINESE))["language"] == "zh"
    assert analyze_review(review("r", "Отличное приложение"))["language"] == "ru"


def test_keywords_are_topics_not_feelings():
    keywords = analyze_review(
        review("k", "Offline maps saved me on the trail. Love the widget!", 5)
    )["keywords"]
    assert "offline maps" in keywords
    assert "love" not in " ".join(keywords)
    keywords = analyze_review(review("k", "Terrible battery drain!", 1))["keywords"]
    assert keywords == ["battery drain"]
    assert analyze_review(review("z", CHINESE))["keywords"] == []  # no segmentation offline
    for result in analyze_batch([review(str(i), t) for i, t in enumerate([POSITIVE, NEGATIVE])]):
        assert len(result["keywords"]) <= 10
        assert len(set(result["keywords"])) == len(result["keywords"])
        assert all(k == k.lower() and 1 <= len(k.split()) <= 2 for k in result["keywords"])


@pytest.mark.parametrize(
    ("text", "score", "topics", "not_topics"),
    [
        # a complaint's keywords come from the complaint, praise's from the praise
        ("Offline maps saved me. Terrible battery drain!", 1, ["battery drain"], ["offline"]),
        ("Great design, but the sync fails every day", 2, ["sync"], ["design"]),
        # a concession, a wish, an aside that says the opposite: not what the review praises
        ("Love the route planner, though the subscription is a bit expensive", 5,
         ["route planner"], ["subscription"]),
        ("Great maps. I wish there were more trails in my area.", 5, ["maps"], ["trails"]),
        ("Offline maps saved me when I lost signal", 5, ["offline maps"], ["signal"]),
        ("Love the maps, no more annoying popups", 5, ["maps"], ["popups"]),  # a word against
        ("Lyrics are nice but not available for every song", 4, ["lyrics"], ["song"]),
        # where and when are not what: "on mobile data", "during my lunch break"
        ("The sound quality is excellent even on mobile data", 5, ["sound quality"], ["data"]),
        ("Приложение постоянно вылетает во время обеда", 1, ["вылетает"], ["обеда"]),  # a phrase
    ],
)  # fmt: skip
def test_keywords_come_from_the_part_that_carries_the_label(text, score, topics, not_topics):
    keywords = " | ".join(analyze_review(review("k", text, score))["keywords"])
    for topic in topics:
        assert topic in keywords
    for other in not_topics:
        assert other not in keywords


def test_analysis_is_deterministic_and_in_order():
    reviews = [review(str(i), text) for i, text in enumerate([SPANISH, "ok", GERMAN, POSITIVE])]
    first = analyze_batch(reviews)
    assert [result["review_id"] for result in first] == ["0", "1", "2", "3"]
    assert analyze_batch(reviews) == first


def test_a_huge_review_is_analysed_on_its_first_max_text_characters():
    # some steps of the reading grow with the square of the text: uncapped, this one
    # review of a million characters takes well over a minute
    sentence = "The app is great but it crashes every time I open it, not bad though. "
    text = (sentence * (1_000_000 // len(sentence) + 1))[:1_000_000]
    result = analyze_review(review("big", text, score=2))
    assert set(result) == {"review_id", "sentiment", "language", "keywords"}
    assert result["review_id"] == "big"
    assert result["sentiment"]["label"] in ("positive", "neutral", "negative")
    assert -1.0 <= result["sentiment"]["compound"] <= 1.0
    assert result["language"] == "en"
    assert result["keywords"] and all(isinstance(word, str) for word in result["keywords"])
    assert result == analyze_review(review("big", text[:MAX_TEXT], score=2))


def test_a_review_under_the_cap_is_analysed_whole():
    analyzer = get_analyzer()
    sentence = "Offline maps are great. But the sync fails since the update, useless! "
    for text in (NEGATIVE, (sentence * (MAX_TEXT // len(sentence) + 1))[:MAX_TEXT]):
        assert analyze_review(review("r", text, score=4)) == {
            "review_id": "r",
            **analyzer.analyze_text(text, 4),
        }
    # the cap cuts: the last sentence of a text one sentence longer than it is not read
    longer = "x" * (MAX_TEXT - 1) + " Useless, it crashes all the time!"
    assert analyze_review(review("r", longer, score=None))["sentiment"]["label"] != "negative"
    assert analyzer.analyze_text(longer)["sentiment"]["label"] == "negative"


def test_analyzer_is_built_once():
    assert get_analyzer() is get_analyzer()


def test_label_thresholds_and_rating_mapping():
    assert label_for(0.2) == "positive"
    assert label_for(0.1999) == "neutral"
    assert label_for(-0.1999) == "neutral"
    assert label_for(-0.2) == "negative"
    assert [rating_compound(score) for score in (1, 2, 3, 4, 5)] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert rating_compound(0) is None
    assert rating_compound(None) is None
    assert rating_compound(True) is None


def test_lexicons_parse_and_the_supported_languages_have_one():
    from nlp_worker.languages import SUPPORTED
    from nlp_worker.lexicon import load, parse

    for code in SUPPORTED:
        lexicon = load(code)
        assert lexicon.words or lexicon.prefixes, code
        assert lexicon.lists["negators"], code
    with pytest.raises(ValueError, match="unknown list"):
        parse("xx", "@nonsense a b")
    with pytest.raises(ValueError, match="no valence"):
        parse("xx", "good great")
    assert [code for code in SUPPORTED if load(code).flag("substring")] == ["ja", "zh"]
    assert [code for code in SUPPORTED if load(code).flag("elision")] == ["fr", "it"]
    # a flag holds for the whole file, wherever its line stands
    for text in ("@flags substring\n好 用 2.0", "好 用 2.0\n@flags substring"):
        lexicon = parse("xx", text)
        assert lexicon.substring and lexicon.words == {"好 用": 2.0} and not lexicon.phrases
    assert parse("xx", "very good 2.0").phrases == {("very", "good"): 2.0}


# -- summary ----------------------------------------------------------------------------


def analysis(label: str, language: str | None, keywords: list[str], compound=None):
    compound = (
        {"positive": 0.8, "neutral": 0.0, "negative": -0.8}[label] if compound is None else compound
    )
    return {
        "review_id": "-",
        "sentiment": {"compound": compound, "label": label},
        "language": language,
        "keywords": keywords,
    }


def versioned(review_id, score, at, version):
    return {**review(review_id, "", score, at), "app_version": version}


def test_summary_of_a_hand_made_set():
    # fmt: off
    pairs = [
        (versioned("1", 5, "2026-03-01T08:00:00Z", "1.0"), analysis("positive", "en", ["offline maps"])),
        (versioned("2", 4, "2026-03-01T23:59:59Z", "1.0"), analysis("positive", "en", ["offline maps", "route"])),
        (versioned("3", 5, "2026-03-02T00:30:00+02:00", "1.0"), analysis("positive", "es", ["mapas"])),
        (versioned("4", 1, "2026-03-02T12:00:00Z", "1.1"), analysis("negative", "en", ["battery drain"])),
        (versioned("5", 2, "2026-03-09T13:00:00Z", "1.1"), analysis("negative", None, ["crash"])),
        (versioned("6", 1, "2026-03-10T09:00:00Z", "1.1"), analysis("negative", "en", ["battery drain", "route"])),
        (versioned("7", 3, "2026-03-10T10:00:00Z", None), analysis("neutral", "en", ["route"])),
    ]
    # fmt: on
    summary = summarize(pairs)
    assert summary["review_count"] == 7
    assert summary["average_rating"] == 3.0
    assert summary["rating_distribution"] == {"1": 2, "2": 1, "3": 1, "4": 1, "5": 2}
    assert summary["sentiment"] == {"positive": 3, "neutral": 1, "negative": 3}
    assert summary["languages"] == {"en": 5, "es": 1, "unknown": 1}
    assert summary["per_day"] == {
        "2026-03-01": 3, "2026-03-02": 1, "2026-03-09": 1, "2026-03-10": 2,
    }  # fmt: skip
    assert summary["per_week"] == {"2026-W09": 3, "2026-W10": 1, "2026-W11": 3}
    assert summary["versions"] == [
        {"version": "1.0", "review_count": 3, "average_rating": 4.67, "average_sentiment": 0.8,
         "sentiment": {"positive": 3, "neutral": 0, "negative": 0}},
        {"version": "1.1", "review_count": 3, "average_rating": 1.33, "average_sentiment": -0.8,
         "sentiment": {"positive": 0, "neutral": 0, "negative": 3}},
    ]  # fmt: skip
    (issue,) = summary["top_issues"]
    assert issue == {
        "theme": "battery drain",
        "language": "en",
        "review_count": 2,
        "share": round(2 / 7, 4),
        "example_review_ids": ["6", "4"],
        "per_week": {"2026-W10": 1, "2026-W11": 1},
        "per_version": {"1.1": 2},
    }
    (praise,) = summary["top_praises"]
    assert praise["theme"] == "offline maps"
    assert praise["review_count"] == 2
    assert summary["top_keywords"] == {"positive": ["offline maps"], "negative": ["battery drain"]}


def test_themes_contrast_the_two_sides_and_stay_in_their_language():
    pairs = []
    for n in range(10):
        pairs.append((review(f"p{n}", "", 5), analysis("positive", "en", ["dark mode", "update"])))
        pairs.append(
            (review(f"n{n}", "", 1), analysis("negative", "en", ["login fails", "update"]))
        )
        pairs.append((review(f"d{n}", "", 1), analysis("negative", "de", ["anmeldung"])))
    summary = summarize(pairs)
    issues = [(t["theme"], t["language"]) for t in summary["top_issues"]]
    # "update" is on both sides; two-word themes rank first among equals
    assert issues == [("login fails", "en"), ("anmeldung", "de")]
    assert [t["theme"] for t in summary["top_praises"]] == ["dark mode"]


def test_the_summary_leaves_the_apps_own_name_out_of_its_themes():
    pairs = [
        (review(str(n), "", 5), analysis("positive", "en", ["spotify", "discover weekly"]))
        for n in range(3)
    ]
    summary = summarize(pairs, app_id="com.spotify.music")
    assert summary["top_keywords"]["positive"] == ["discover weekly"]


def test_a_name_written_alike_in_many_languages_is_weighed_on_all_reviews():
    # "trailmark" (the app's name) is in praise and blame alike in English; the few Spanish,
    # French and German reviews that name it happen to be happy: still no theme of theirs
    pairs = []
    for n in range(6):
        named = ["trailmark"] if n < 2 else []
        pairs.append((review(f"p{n}", "", 5), analysis("positive", "en", [*named, "maps"])))
        pairs.append((review(f"n{n}", "", 1), analysis("negative", "en", ["trailmark", "sync"])))
    for language in ("es", "fr", "de"):
        for n in range(3):
            pairs.append(
                (review(f"{language}{n}", "", 5), analysis("positive", language, ["trailmark"]))
            )
        pairs.append((review(f"{language}-bug", "", 1), analysis("negative", language, ["bug"])))
        pairs.append((review(f"{language}-bug2", "", 1), analysis("negative", language, ["bug"])))
    summary = summarize(pairs)
    assert "trailmark" not in summary["top_keywords"]["positive"]
    assert "maps" in summary["top_keywords"]["positive"]
    assert "bug" in summary["top_keywords"]["negative"]  # a loanword, clearly on one side


def test_summary_of_nothing():
    assert summarize([]) == {
        "review_count": 0,
        "average_rating": None,
        "rating_distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
        "sentiment": {"positive": 0, "neutral": 0, "negative": 0},
        "top_keywords": {"positive": [], "negative": []},
        "top_issues": [],
        "top_praises": [],
        "languages": {},
        "per_day": {},
        "per_week": {},
        "versions": [],
    }


def utc_day(at: Any) -> str | None:
    found = moment(at)
    return found.date().isoformat() if found else None


def iso_week(at: Any) -> str | None:
    found = moment(at)
    return _week(found) if found else None


def test_utc_day_and_week():
    assert utc_day("2026-01-31T23:30:00Z") == "2026-01-31"
    assert utc_day("2026-01-31T23:30:00-02:00") == "2026-02-01"
    assert utc_day("2026-01-31T00:30:00+01:00") == "2026-01-30"
    assert utc_day("2026-01-31T12:00:00") == "2026-01-31"
    assert utc_day("yesterday") is None
    assert utc_day(None) is None
    assert utc_day("9999-12-31T23:59:59-01:00") is None  # the year 10000 in UTC
    assert iso_week("9999-12-31T23:59:59-01:00") is None
    assert utc_day("9999-12-31T23:59:59+01:00") == "9999-12-31"
    assert iso_week("2026-01-01T00:00:00Z") == "2026-W01"
    assert iso_week("2027-01-01T12:00:00Z") == "2026-W53"


def test_the_summary_reads_each_reviews_time_once(monkeypatch):
    from nlp_worker import summary as summary_module

    read: list[Any] = []

    def moment(at: Any) -> Any:
        read.append(at)
        return real(at)

    real = summary_module.moment
    monkeypatch.setattr(summary_module, "moment", moment)
    reviews = [
        review("a", POSITIVE, score=5, at="2026-01-31T23:30:00-02:00"),
        review("b", POSITIVE, score=5, at="yesterday"),
        review("c", NEGATIVE, score=1, at="2027-01-01T12:00:00Z"),
    ]
    found = summarize((item, analyze_review(item)) for item in reviews)
    assert read == [item["at"] for item in reviews]
    assert found["per_day"] == {"2026-02-01": 1, "2027-01-01": 1}
    assert found["per_week"] == {"2026-W05": 1, "2026-W53": 1}
    assert [entry["review_count"] for entry in found["versions"]] == [3]


def test_per_day_keeps_the_latest_days_the_service_stores():
    """Reviews on more distinct days than the service keeps (bogus or hostile `at` values):
    the summary keeps the latest, rather than being refused and failing the run for good."""
    first = date(1990, 1, 1)
    reviews = [
        {"review_id": f"r{n}", "at": f"{first + timedelta(days=n)}T12:00:00Z"}
        for n in range(MAX_DAYS + 1)
    ]
    found = summarize((item, {"sentiment": {"label": "neutral"}}) for item in reviews)
    assert len(found["per_day"]) == MAX_DAYS
    assert min(found["per_day"]) == str(first + timedelta(days=1))
    assert max(found["per_day"]) == str(first + timedelta(days=MAX_DAYS))


def test_the_summary_fits_the_service_schema():
    import msgspec

    from scraper_worker.sources import load_fixture
    from service.results_schemas import Summary

    reviews = [dict(r) for r in load_fixture("com.whatsapp")]
    summary = summarize(zip(reviews, analyze_batch(reviews), strict=True), "com.whatsapp")
    assert msgspec.to_builtins(msgspec.convert(summary, Summary)) == summary
    assert summary["top_issues"] and summary["top_praises"]


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
        assert len(reviews) <= MAX_BATCH  # what the service takes in one call
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
            summarize([]),
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
        "analyze FILE",
    ):
        assert option in " ".join(result.output.split())


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


# -- nlp-worker analyze -------------------------------------------------------------------


def run_analyze(args: list[str], stdin: str | bytes = "") -> Any:
    from nlp_worker.cli import main

    return CliRunner().invoke(main, ["analyze", *args], input=stdin)


def jsonl(*rows: dict) -> str:
    import json

    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def test_analyze_writes_one_line_per_review_in_order_and_the_summary(tmp_path):
    import json

    rows = [
        {"review_id": "b", "content": NEGATIVE, "score": 1, "at": "2026-11-02T10:00:00Z",
         "app_version": "8.1"},
        {"review_id": 7, "content": SPANISH},
        {"review_id": "a", "content": POSITIVE, "score": 5},
    ]  # fmt: skip
    path = tmp_path / "reviews.jsonl"
    path.write_text(jsonl(*rows) + "\n", encoding="utf-8")  # a blank line is skipped
    result = run_analyze([str(path), "--summary"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line.get("review_id") for line in lines[:3]] == ["b", "7", "a"]
    assert lines[:3] == analyze_batch([{**row, "review_id": str(row["review_id"])} for row in rows])
    assert set(lines[0]) == {"review_id", "sentiment", "language", "keywords"}
    assert lines[0]["sentiment"]["label"] == "negative"
    (summary,) = [line["summary"] for line in lines[3:]]
    reviews = [{**row, "review_id": str(row["review_id"])} for row in rows]
    assert summary == summarize(zip(reviews, lines[:3], strict=True))


def test_analyze_reads_stdin_without_a_summary():
    result = run_analyze(["-"], jsonl({"review_id": "x", "content": "ok", "score": 3}))
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1
    assert '"summary"' not in result.output


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("not json", "line 2: not JSON"),
        ("[1, 2]", "line 2: not a JSON object"),
        ('{"content": "x"}', "line 2: review_id"),
        ('{"review_id": "r", "content": 5}', "line 2: content must be a string"),
        ('{"review_id": "r", "content": "x", "score": 9}', "line 2: score must be"),
        ('{"review_id": "r", "content": "x", "at": 5}', "line 2: at must be a string"),
    ],
)
def test_analyze_refuses_a_bad_line_with_its_number(line, why):
    result = run_analyze(["-"], jsonl({"review_id": "ok", "content": "fine"}) + line + "\n")
    assert result.exit_code == 1
    assert why in result.output
    assert "Traceback" not in result.output


DEEP = "[" * 100_000 + "]" * 100_000
HOSTILE = [  # (line 3, what the error says); line 1 is good and line 2 good and not ASCII
    (('{"review_id": "r", "content": "x", "n": ' + DEEP + "}").encode(), "line 3: not JSON this can read (nested too deeply)"),
    (DEEP.encode(), "line 3: not JSON this can read (nested too deeply)"),
    (b'{"review_id": ' + b"9" * 5000 + b', "content": "x"}', "line 3: not JSON this can read (Exceeds the limit"),
    (b'{"review_id": "r", "content": "caf\xe9"}', "line 3: not UTF-8 (invalid continuation byte at byte 35)"),
    (b'{"review_id": "r", "content": "\xff"}', "line 3: not UTF-8 (invalid start byte at byte 32)"),
    (b'{"review_id": "r", "content": "a \\ud800 b"}', "line 3: content is not text (a lone surrogate at character 3)"),
    (b'{"review_id": "\\udfff", "content": "great"}', "line 3: review_id is not text (a lone surrogate at character 1)"),
    (b'{"review_id": "r", "content": "great", "app_version": "1.\\ud800"}', "line 3: app_version is not text (a lone surrogate at character 3)"),
    (b'{"review_id": "r", "content": "great", "at": "2026-01-01\\udc80"}', "line 3: at is not text"),
]  # fmt: skip


def hostile_input(line: bytes) -> bytes:
    good = jsonl({"review_id": "ok", "content": "fine"}, {"review_id": "é", "content": "Très bien"})
    return good.encode() + line + b"\n"


HOSTILE_IDS = [
    "deep-object", "deep-array", "5000-digit-id", "latin-1-byte", "stray-byte",
    "surrogate-content", "surrogate-review-id", "surrogate-app-version", "surrogate-at",
]  # fmt: skip


@pytest.mark.parametrize(("line", "why"), HOSTILE, ids=HOSTILE_IDS)
def test_analyze_refuses_hostile_input_with_its_line_number(line, why):
    result = run_analyze(["-", "--summary"], hostile_input(line))
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # click's error, not an uncaught one
    assert why in result.output
    assert "Traceback" not in result.output
    assert result.output.count('"review_id"') == 2  # the two good lines, then the error


def test_analyze_reads_lines_ended_as_in_text_mode():
    rows = [{"review_id": n, "content": "great"} for n in range(3)]
    crlf_cr = b"".join(
        line.encode() + end
        for line, end in zip(jsonl(*rows).splitlines(), (b"\r\n", b"\r", b"\n"), strict=True)
    )
    result = run_analyze(["-"], crlf_cr + b"{oops\r\n")
    assert result.exit_code == 1
    assert result.output.count('"review_id"') == 3
    assert "line 4: not JSON" in result.output


def test_analyze_counts_a_time_utc_cannot_hold_as_no_time():
    # 9999-12-31T23:59:59-01:00 is in the year 10000 in UTC: no day, no week, no error
    far = {
        "review_id": "far",
        "content": "Great app",
        "score": 5,
        "at": "9999-12-31T23:59:59-01:00",
        "app_version": "2.0",
    }
    result = run_analyze(["-", "--summary"], jsonl(far))
    assert result.exit_code == 0, result.output
    import json

    summary = json.loads(result.output.splitlines()[-1])["summary"]
    assert summary["review_count"] == 1
    assert summary["per_day"] == {} and summary["per_week"] == {}
    assert summary["versions"][0]["version"] == "2.0"


@pytest.mark.parametrize(("line", "why"), [HOSTILE[1], HOSTILE[3]], ids=HOSTILE_IDS[1:4:2])
def test_analyze_as_a_process_fails_cleanly_on_hostile_input(line, why):
    from tests.serving import run_python

    result = run_python("-m", "nlp_worker", "analyze", "-", input=hostile_input(line), timeout=120)
    assert result.returncode == 1
    assert result.stdout.count(b"\n") == 2
    assert why in result.stderr.decode()
    assert b"Traceback" not in result.stderr


def test_analyze_as_a_process_fails_cleanly_on_bad_input():
    from tests.serving import run_python

    result = run_python(
        "-m", "nlp_worker", "analyze", "-",
        input='{"review_id": "r", "content": "Great app"}\n{oops\n', timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout.count("\n") == 1  # the good line before it
    assert "line 2: not JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_worker_command_still_takes_worker_options(monkeypatch):
    from nlp_worker import cli

    started = []
    monkeypatch.setattr(cli, "run_worker", started.append)
    result = CliRunner().invoke(cli.main, ["--api-url", "http://queue.test", "--concurrency", "2"])
    assert result.exit_code == 0, result.output
    (worker,) = started
    assert worker.stage == "nlp"
    assert worker.concurrency == 2
