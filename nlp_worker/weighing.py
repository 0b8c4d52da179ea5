"""The text's reading weighed against the stars: a model learned from labelled reviews.

The reading (sentiment.read: praise, blame, caveats, contrasts, negations, questions, wishes,
a text that says its stars are a slip) and the star rating become features; a multinomial
logistic regression, trained by `benchmarks/train_sentiment.py` on the labelled review sets
the project keeps, gives each label its probability. The label is the likeliest one; the
compound is P(positive) - P(negative).

Its words count too, lightly: each word of the review (as tokenized for its language) is a
feature of weight WORD_WEIGHT / sqrt(words), so that phrasings the lexicons do not hold
("will rate later", "so you'll read this") can move a label the reading leaves in doubt.
Only words found in at least MIN_REVIEWS training reviews are kept.

The weights ship in models/sentiment.json (nothing is downloaded); scikit-learn is needed to
train them, not to use them: scoring is a dot product per label, in plain Python.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from nlp_worker.text import Tokens

if TYPE_CHECKING:
    from nlp_worker.sentiment import Reading

MODEL = Path(__file__).parent / "models" / "sentiment.json"
WORD_WEIGHT = 1.0
MIN_REVIEWS = 2
WORD = "w:"  # the prefix of word features, beside the reading's and the stars' names
STARS = (1, 2, 3, 4, 5)


def features(tokens: Tokens, reading: Reading, stars: float) -> dict[str, float]:
    """What the model weighs, for a review with a star rating `stars` (1..5)."""
    praise, blame = reading.positive, reading.negative
    points = praise - blame
    leaning = points / math.sqrt(points * points + 6.0)
    trusted = 0.0 if reading.misrated else (stars - 3.0) / 2.0
    nearest = min(STARS, key=lambda n: abs(n - stars))
    found = {
        "praise": praise,
        "blame": blame,
        "caveats": reading.caveats,
        "points": points,
        "leaning": leaning,
        f"leaning_{nearest}": leaning,  # how far the text's lean counts depends on the stars
        "agreeing": leaning * trusted,  # text and stars on one side (> 0) or opposed (< 0)
        "two_sided": min(praise, blame - reading.caveats),
        "neutral_phrases": float(reading.neutral),
        "misrated": float(reading.misrated),
        "asks": float(reading.asks),
        "turned": float(reading.turned),
        "turn": reading.turn,
        "stars": trusted,
        "silent": float(praise + blame == 0),
        "question": float(bool(tokens.questions)),
        f"stars_{nearest}": 1.0,
    }
    words = {token.text for token in tokens.tokens}
    if words:
        weight = WORD_WEIGHT / math.sqrt(len(words))
        found.update({WORD + word: weight for word in words})
    return found


@dataclass(frozen=True)
class SentimentModel:
    labels: tuple[str, ...]
    intercepts: tuple[float, ...]
    weights: Mapping[str, tuple[float, ...]]

    @classmethod
    def load(cls, path: Path = MODEL) -> SentimentModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            tuple(data["labels"]),
            tuple(data["intercepts"]),
            {name: tuple(row) for name, row in data["weights"].items()},
        )

    def probabilities(self, found: Mapping[str, float]) -> dict[str, float]:
        scores = list(self.intercepts)
        for name, value in found.items():
            row = self.weights.get(name)
            if row is not None:
                for n, weight in enumerate(row):
                    scores[n] += weight * value
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {label: e / total for label, e in zip(self.labels, exps, strict=True)}


def likeliest(chances: Mapping[str, float]) -> str:
    """The label of the highest probability."""
    return max(chances, key=chances.__getitem__)


@cache
def shipped() -> SentimentModel:
    """The model in MODEL, read once per process."""
    return SentimentModel.load()


def as_json(
    labels: list[str], intercepts: list[float], weights: dict[str, list[float]], about: dict
) -> str:
    """The model file's text: one feature a line, sorted and rounded, so that a retrain that
    changes nothing changes no byte and one that does shows which weights moved."""

    def dump(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    def rounded(values: list[float]) -> list[float]:
        return [round(value, 6) for value in values]

    rows = ",\n".join(f"{dump(name)}: {dump(rounded(weights[name]))}" for name in sorted(weights))
    return (
        f'{{"about": {dump(about)},\n"labels": {dump(labels)},\n'
        f'"intercepts": {dump(rounded(intercepts))},\n"weights": {{\n{rows}\n}}}}\n'
    )
