"""A review's sentiment: what its text says, weighed against its star rating.

The text
--------
Words and phrases of the language's lexicon (lexicon.py) carry a valence (-4..4). Each one
found is adjusted by what stands around it:

* negation: a negator up to four words before it in the same clause ("not good", "never
  had a crash"; German and Dutch also just after: "gefällt mir nicht") flips it, a bad word
  more softly than a good one ("not bad" is only mildly good);
* intensifiers ("very", "really") right before it make it stronger;
* contrast: in a sentence with "but" (aber, pero, mais ...) what comes before weighs half,
  what comes after one and a half ("great design but crashes every time" is a complaint);
  a concession ("though", "aunque", "obwohl") weakens its own clause instead ("really
  useful, though the colours are dull" is praise);
* diminishers ("a bit", "un peu", "etwas") right before it make it weaker;
* loss: beside "used to" / "früher" / "antes" (in the same sentence), before "until", and
  under "no longer" / "nicht mehr", a good word means something good that is gone;
  each such marker also counts as a small complaint by itself;
* a sentence that praises and complains (more than "a bit") without a contrast word
  ("Great, another update that deletes my notes") counts its praise at half: sarcasm and
  complaints wrapped in politeness are far more common in reviews than the reverse;
* with one or two stars, praise beside a complaint counts at half again;
* questions weigh less ("does it work offline?"), and a review that only asks something
  and says nothing good or bad is neutral unless its stars are extreme.

The sum S becomes `text = S / sqrt(S^2 + ALPHA)` in -1..1; `evidence` is the sum of the
absolute valences, how much the text said at all. Neutral phrases ("it's okay", "would
like", "es normal") add evidence without valence: the text said something, and it was
neither good nor bad, which pulls the compound towards 0.

With the stars
--------------
`stars = (score - 3) / 2` (1 -> -1, 3 -> 0, 5 -> 1). The compound is
`w * text + (1 - w) * stars` with `w = evidence / (evidence + STAR_WEIGHT)`: a text that says
little ("ok") leaves the decision to the stars, a text that says a lot overrides them (five
stars on "worst update ever, please fix" is negative). A text that says the stars were a slip
("meant to give five") ignores them. No text evidence: the stars alone; no stars: the text
alone. The label: positive from THRESHOLD up, negative from -THRESHOLD down, else neutral.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nlp_worker.lexicon import MAX_PHRASE_WORDS, Lexicon
from nlp_worker.text import Tokens

ALPHA = 6.0
STAR_WEIGHT = 1.6
THRESHOLD = 0.2
NEGATION_WINDOW = 4
NEGATED_GOOD = -0.75  # "not good"
NEGATED_BAD = -0.4  # "not bad"
INTENSIFIER = 1.3
BEFORE_CONTRAST = 0.5
AFTER_CONTRAST = 1.5
LOSS = -0.8  # a good word under a loss marker
LOSS_MARKER = -1.0  # a loss marker by itself
MIXED_PRAISE = 0.5
QUESTION = 0.4
CONCESSIVE = 0.5
QUESTION_ONLY = 0.15  # a review that only asks something: its stars count this much
LOW_STAR_PRAISE = 0.5
DIMINISHER = 0.5
NEUTRAL_EVIDENCE = 3.0  # how much a neutral phrase ("okay", "would like") says
MARKERS = (
    "negators", "negators_after", "contrast", "concessive", "past", "until", "no_longer",
    "misrated", "diminishers", "neutral",
)  # fmt: skip
EMOJI = {
    "😍": 3.0, "🥰": 3.0, "❤": 2.5, "😊": 2.0, "😀": 2.0, "😁": 2.0, "😃": 2.0, "🙂": 1.0,
    "👍": 2.0, "👌": 2.0, "💯": 2.5, "🔥": 2.0, "⭐": 1.5, "🌟": 1.5, "🎉": 2.0, "😂": 1.0,
    "😡": -3.0, "😠": -3.0, "🤬": -3.5, "👎": -2.5, "😢": -2.0, "😭": -2.0, "😞": -2.0,
    "😤": -2.0, "💩": -3.0, "🙄": -1.5, "😒": -1.5, "🤮": -3.0, "😩": -2.0, "😫": -2.0,
}  # fmt: skip


@dataclass(frozen=True)
class Sentiment:
    compound: float
    label: str
    text: float  # the text's own polarity, -1..1
    evidence: float  # how much the text said (sum of absolute valences)

    def as_dict(self) -> dict[str, float | str]:
        return {"compound": self.compound, "label": self.label}


@dataclass
class _Hit:
    index: int
    valence: float
    clause: int
    sentence: int
    negated: bool = False  # a phrase that holds its own negation ("doesn't work")
    diminished: bool = False  # "a bit slow": a caveat


def label_for(compound: float) -> str:
    if compound >= THRESHOLD:
        return "positive"
    if compound <= -THRESHOLD:
        return "negative"
    return "neutral"


def rating_compound(score: object) -> float | None:
    """The star rating 1..5 as -1..1, or None if it is not a rating."""
    if isinstance(score, bool) or not isinstance(score, int | float) or math.isnan(score):
        return None
    if not 1 <= score <= 5:
        return None
    return round((float(score) - 3.0) / 2.0, 4)


def score(tokens: Tokens, lexicon: Lexicon, stars: object = None) -> Sentiment:
    rating = rating_compound(stars)
    total, evidence, misrated = text_polarity(tokens, lexicon, low_stars=(rating or 0) < 0)
    text = total / math.sqrt(total * total + ALPHA) if total else 0.0
    rating = None if misrated else rating
    if evidence == 0:
        compound = rating if rating is not None else 0.0
        if _only_questions(tokens):
            compound *= QUESTION_ONLY
    elif rating is None:
        compound = text
    else:
        weight = evidence / (evidence + STAR_WEIGHT)
        compound = weight * text + (1 - weight) * rating
    compound = round(max(-1.0, min(1.0, compound)), 4)
    return Sentiment(compound, label_for(compound), round(text, 4), round(evidence, 3))


def _only_questions(tokens: Tokens) -> bool:
    sentences = {token.sentence for token in tokens.tokens}
    return bool(sentences) and sentences <= tokens.questions


def text_polarity(
    tokens: Tokens, lexicon: Lexicon, *, low_stars: bool = False
) -> tuple[float, float, bool]:
    """(sum of adjusted valences, sum of their absolute values, stars said to be a slip).
    `low_stars`: one or two stars, where praise beside a complaint is mostly sarcasm or a
    polite preamble: it then counts at half."""
    items = tokens.tokens
    words = [token.text for token in items]
    markers: dict[str, list[int]] = {name: [] for name in MARKERS}
    intensified: set[int] = set()
    hits: list[_Hit] = []
    i = 0
    while i < len(items):
        span, kind, valence = _match(words, i, lexicon, items)
        token = items[i]
        if kind == "valence":
            negated = span > 1 and _is_negator(words[i], lexicon)
            hits.append(_Hit(i, valence, token.clause, token.sentence, negated))
        elif kind == "intensifiers":
            intensified.add(i + span)
        elif kind is not None:
            markers[kind].append(i)
            if span == 1:  # German "nie", "nicht": before and after
                for name in MARKERS:
                    if name != kind and lexicon.has(name, words[i]):
                        markers[name].append(i)
        i += span

    for hit in hits:
        hit.valence *= INTENSIFIER if hit.index in intensified else 1.0
        if _diminished(hit, items, markers):
            hit.valence *= DIMINISHER
            hit.diminished = True
        if not hit.negated and _negated(hit, items, markers, lexicon):
            hit.valence *= NEGATED_GOOD if hit.valence > 0 else NEGATED_BAD
        if hit.valence > 0 and _lost(hit, items, markers):
            hit.valence *= LOSS
    losses = len(markers["past"]) + len(markers["until"]) + len(markers["no_longer"])
    _weigh_sentences(hits, items, markers, tokens.questions)
    if low_stars and any(hit.valence < 0 for hit in hits):
        for hit in hits:
            if hit.valence > 0:
                hit.valence *= LOW_STAR_PRAISE
    total = sum(hit.valence for hit in hits) + LOSS_MARKER * losses
    evidence = sum(abs(hit.valence) for hit in hits) + abs(LOSS_MARKER) * losses
    evidence += NEUTRAL_EVIDENCE * len(markers["neutral"])
    return total, evidence, bool(markers["misrated"])


def _is_negator(word: str, lexicon: Lexicon) -> bool:
    return any(lexicon.has(name, word) for name in ("negators", "no_longer"))


def _diminished(hit: _Hit, items: list, markers: dict[str, list[int]]) -> bool:
    """ "a bit slow", "un peu lente": a diminisher up to three words before, same clause."""
    return any(
        0 < hit.index - index <= NEGATION_WINDOW and items[index].clause == hit.clause
        for index in markers["diminishers"]
    )


def _match(
    words: list[str], i: int, lexicon: Lexicon, items: list
) -> tuple[int, str | None, float]:
    """What starts at word i: (words it spans, kind, valence). Phrases first, longest first."""
    for length in range(min(MAX_PHRASE_WORDS, len(words) - i), 1, -1):
        if items[i + length - 1].sentence != items[i].sentence:
            continue
        phrase = tuple(words[i : i + length])
        if phrase in lexicon.phrases:
            return length, "valence", lexicon.phrases[phrase]
        for name, phrases in lexicon.phrase_lists.items():
            if phrase in phrases and name in (*MARKERS, "intensifiers"):
                return length, name, 0.0
    word = words[i]
    if items[i].emoji:
        value = EMOJI.get(word)
        return 1, ("valence" if value else None), value or 0.0
    for name in MARKERS:
        if lexicon.has(name, word):
            return 1, name, 0.0
    value = lexicon.valence(word)
    if lexicon.has("intensifiers", word):
        # "super fast" boosts, "super!" praises: an intensifier before a word that means
        # something; itself otherwise
        following = words[i + 1] if i + 1 < len(words) else ""
        if not value or (following and lexicon.valence(following)):
            return 1, "intensifiers", 0.0
    if value:
        return 1, "valence", value
    return 1, None, 0.0


def _negated(hit: _Hit, items: list, markers: dict[str, list[int]], lexicon: Lexicon) -> bool:
    for index in markers["negators"] + markers["no_longer"]:
        if 0 < hit.index - index <= NEGATION_WINDOW and items[index].clause == hit.clause:
            return True
    for index in markers["negators_after"]:
        if 0 < index - hit.index <= NEGATION_WINDOW and items[index].clause == hit.clause:
            return True
    return False


def _lost(hit: _Hit, items: list, markers: dict[str, list[int]]) -> bool:
    """A good word that describes the past: in the sentence of "used to" / "früher" (on
    either side: "c'était mieux avant"), or before "until" in its sentence."""
    for index in markers["past"]:
        if items[index].sentence == hit.sentence:
            return True
    for index in markers["until"]:
        if hit.index < index and items[index].sentence == hit.sentence:
            return True
    return False


def _weigh_sentences(
    hits: list[_Hit], items: list, markers: dict[str, list[int]], questions: frozenset[int]
) -> None:
    contrast_at: dict[int, int] = {}
    for index in markers["contrast"]:
        contrast_at.setdefault(items[index].sentence, index)  # the first one counts
    by_sentence: dict[int, list[_Hit]] = {}
    for hit in hits:
        by_sentence.setdefault(hit.sentence, []).append(hit)
    for index in markers["concessive"]:  # "though it is slow": that clause weighs less
        for hit in hits:
            if hit.index > index and items[index].clause == hit.clause:
                hit.valence *= CONCESSIVE
    for sentence, found in by_sentence.items():
        pivot = contrast_at.get(sentence)
        if pivot is not None:
            for hit in found:
                hit.valence *= BEFORE_CONTRAST if hit.index < pivot else AFTER_CONTRAST
        elif any(h.valence > 0 for h in found) and any(
            h.valence < 0 and not h.diminished for h in found
        ):
            for hit in found:
                if hit.valence > 0:
                    hit.valence *= MIXED_PRAISE
        if sentence in questions:
            for hit in found:
                hit.valence *= QUESTION
