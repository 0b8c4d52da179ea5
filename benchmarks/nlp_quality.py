"""How good the NLP analysis is, on reviews written and labelled for the purpose.

    .venv/bin/python -m benchmarks.nlp_quality [--set NAME] [--limit N] [--errors]

benchmarks/data/*.tsv: `lang, score, label, text`, one review a line, each labelled by what
a person reading it (text and stars) would say: positive, neutral or negative, by the rules
in benchmarks/LABELLING.md. The sets were made and used differently, so that the figures can
be read for what they are (the README's "Quality benchmark" has their history):

* dev, test, validation and probe: written by the hands that wrote the lexicons and rules,
  and tuned on while the rules were written.
* holdout to holdout6: each written by someone who saw neither the analyser nor any other
  set, and committed unread. Each is measured once as the held-out set, then retired into
  the training data when the next one is written.
* terse, detailed, mixed and short: written for training (round 6), each by another writer
  with another style, from the labelling guide.
* HELD_OUT (holdout6 now, the default): nothing is trained or tuned on it
  (benchmarks/train_sentiment.py trains the sentiment model on every other set).

Printed: sentiment macro-F1 for English and for the other languages together, beside the
same for the star rating alone (1-2 negative, 3 neutral, 4-5 positive); language accuracy
(all texts, and texts of 20 characters or more) beside langdetect's; and how many reviews
the whole analysis (per-review analysis and the app summary) gets through per CPU second.
On a training set the sentiment figures say how well the model fits it, nothing more.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data"
LABELS = ("positive", "neutral", "negative")
SPEED_ROUNDS = 5
SETS = (
    "holdout6", "holdout5", "holdout4", "holdout3", "holdout", "holdout2",
    "terse", "detailed", "mixed", "short", "validation", "test", "dev", "probe",
)  # fmt: skip
HELD_OUT = ("holdout6",)  # never trained or tuned on (benchmarks/train_sentiment.py)


@dataclass(frozen=True)
class Item:
    id: str
    lang: str
    score: int
    label: str
    text: str


def load(name: str, limit: int | None = None) -> list[Item]:
    with (DATA / f"{name}.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    items = [
        Item(f"{name}-{n:04d}", row["lang"], int(row["score"]), row["label"], row["text"])
        for n, row in enumerate(rows, 1)
    ]
    if limit:  # a slice across languages, for a quick run
        step = max(1, len(items) // limit)
        items = items[::step][:limit]
    return items


def stars_label(score: int) -> str:
    return "negative" if score <= 2 else "neutral" if score == 3 else "positive"


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    scores = []
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, predicted, strict=True))
        if tp + fp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


def halves(items: list[Item]) -> list[tuple[str, list[int]]]:
    """The positions of the English reviews and of the others, each under its title."""
    return [
        ("English", [n for n, item in enumerate(items) if item.lang == "en"]),
        ("other", [n for n, item in enumerate(items) if item.lang != "en"]),
    ]


def sentiment_lines(items: list[Item], predicted: list[str]) -> list[str]:
    """The macro-F1 of these labels for the English reviews and the others, beside the stars
    alone's."""
    lines = []
    for title, chosen in halves(items):
        gold = [items[n].label for n in chosen]
        ours = macro_f1(gold, [predicted[n] for n in chosen])
        stars = macro_f1(gold, [stars_label(items[n].score) for n in chosen])
        lines.append(f1_line(title, len(chosen), ours, stars))
    return lines


def f1_line(title: str, count: int, ours: float, stars: float) -> str:
    return f"sentiment macro-F1, {title:<7} ({count:3d}): {ours:.3f}   stars alone: {stars:.3f}"


def langdetect_codes(texts: list[str]) -> list[str | None]:
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    found: list[str | None] = []
    for text in texts:
        try:
            code = detect(text)
        except LangDetectException:
            code = None
        found.append({"zh-cn": "zh", "zh-tw": "zh"}.get(code or "", code))
    return found


def accuracy(items: list[Item], found: list[str | None], min_chars: int = 0) -> float:
    pairs = [(item, code) for item, code in zip(items, found, strict=True)]
    pairs = [(item, code) for item, code in pairs if len(item.text) >= min_chars]
    return sum(item.lang == code for item, code in pairs) / len(pairs) if pairs else 0.0


def reviews_of(items: list[Item]) -> list[dict]:
    return [
        {"review_id": item.id, "content": item.text, "score": item.score,
         "at": "2026-11-02T10:00:00Z", "app_version": "1.0"}
        for item in items
    ]  # fmt: skip


def speed(items: list[Item]) -> float:
    """Reviews per CPU second for analysis plus summary (models already loaded)."""
    from nlp_worker.analysis import get_analyzer
    from nlp_worker.summary import summarize

    analyzer = get_analyzer()
    reviews = reviews_of(items)
    started = time.process_time()
    for _ in range(SPEED_ROUNDS):
        analyses = analyzer.analyze_batch(reviews)
        summarize(zip(reviews, analyses, strict=True), app_id="com.example.bench")
    return SPEED_ROUNDS * len(reviews) / (time.process_time() - started)


def evaluate(items: list[Item], show_errors: bool = False) -> list[str]:
    from nlp_worker.analysis import get_analyzer

    analyzer = get_analyzer()
    analyses = analyzer.analyze_batch(reviews_of(items))
    predicted = [analysis["sentiment"]["label"] for analysis in analyses]
    languages = [analysis["language"] for analysis in analyses]
    lines = [f"{len(items)} reviews, {len({i.lang for i in items})} languages"]
    lines.extend(sentiment_lines(items, predicted))
    theirs = langdetect_codes([item.text for item in items])
    long_count = sum(len(item.text) >= 20 for item in items)
    lines.append(
        f"language accuracy, all        ({len(items):3d}): {accuracy(items, languages):.3f}"
        f"   langdetect: {accuracy(items, theirs):.3f}"
    )
    lines.append(
        f"language accuracy, 20+ chars  ({long_count:3d}): {accuracy(items, languages, 20):.3f}"
        f"   langdetect: {accuracy(items, theirs, 20):.3f}"
    )
    lines.append(f"speed: {speed(items):,.0f} reviews per CPU second (analysis and summary)")
    if show_errors:
        for item, label, language in zip(items, predicted, languages, strict=True):
            if label != item.label or language != item.lang:
                lines.append(
                    f"  {item.lang}>{language} {item.score}* want {item.label:<8} "
                    f"got {label:<8} {item.text}"
                )
    return lines


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = HELD_OUT[0]
    parser.add_argument("--set", choices=SETS, default=default, help=f"{default} by default")
    parser.add_argument("--limit", type=int, default=None, help="a slice of N reviews")
    parser.add_argument("--errors", action="store_true", help="list every miss")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    print(f"NLP quality on benchmarks/data/{args.set}.tsv")
    for line in evaluate(load(args.set, args.limit), args.errors):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
