"""A review's sentiment: what its text says, weighed against its star rating.

The text
--------
Words and phrases of the language's lexicon (lexicon.py) carry a valence (-4..4). Each one
found is adjusted by what stands around it:

* negation: a negator up to four words before it in the same clause ("not good", "never
  had a crash"; German, Dutch and Japanese also just after: "gefällt mir nicht") flips it,
  a bad word more softly than a good one ("not bad" is only mildly good); what an app
  should do ("open", "lädt", "登录": the `function` list) is a failure when negated
  ("won't even open", "lädt nicht mehr"), and the negation stops there ("won't open since
  the update" does not negate "since the update");
* intensifiers ("very", "really") right before it, or capitals ("USELESS"), make it
  stronger, and a complaint in a clause that says how often ("constantly", "every time",
  "ständig") weighs more; emoji, emoticons (":)", ":-(") and a rating in the text ("10/10",
  "2/5") are words too;
* a wish: praise just after "would be" / "wäre" / "sería" ("would be cool if it synced")
  is a wish, neutral, not praise;
* contrast: in a sentence with "but" (aber, pero, mais ...) what comes before weighs half,
  what comes after one and a half ("great design but crashes every time" is a complaint;
  a sentence that starts with "But" turns the one before it); a negated complaint after
  it stays faint ("not the best, but not bad either");
  a concession ("though", "aunque", "obwohl") weakens its own clause instead ("really
  useful, though the colours are dull" is praise);
* diminishers ("a bit", "un peu", "etwas", "except for") shortly before it (not across
  "and": "tiny and useless"), and a caveat ("my only complaint", "le seul bémol") anywhere
  before it in its sentence, make it weaker: a caveat, which does not make a text
  two-sided;
* repair: a complaint beside "fixed" / "behoben" / "修复了" in its clause ("they fixed the
  crashes", "no more crashes") is gone: faint praise, as "not bad";
* loss: beside "used to" / "früher" / "antes" (in the same sentence), before "until",
  under "no longer" / "nicht mehr", and after "was" in a sentence that then turns ("it
  was good, but since the update ..."), a good word means something good that is gone;
  "used to", "until" and "no longer" also count as a small complaint by themselves (but
  only beside words that say something). A complaint in the part of a sentence that "used
  to" / "at first" / "al principio" speaks of is the reverse, something bad that is gone
  ("a bit confusing at first", "used to crash"): it counts at RECOVERED, and the marker is
  no loss; nor is "no longer" before a complaint ("no longer crashes");
* a sentence that praises and complains (more than "a bit") without a contrast word
  ("Great, the update deletes my notes") counts its praise at half: sarcasm and
  complaints wrapped in politeness are far more common in reviews than the reverse;
* irony: on the side of a sentence (before or after its contrast) that holds an ironic cue
  ("another update", "yet again", "encore une", "又是") and a complaint, or in a review of
  one or two stars, praise means its opposite (SARCASM): "Great, another update that
  breaks everything", "Bravo, encore une mise à jour qui casse tout"; so does a short
  sentence of praise next to it ("Great."), and a short ironic sentence next to a
  complaint ("The widget is gone. Thanks a lot.");
* with one or two stars, praise beside a complaint counts at half again (unless the text
  says the stars were a slip);
* questions weigh less ("does it work offline?"); neutral phrases ("it's okay", "would
  like", "please add", "es normal", "can't find where to change the language") say that
  the text is neither good nor bad, unless they are conceded ("même s'il manque quelques
  trucs") or said of the past ("it was okay at first, but ...").

The reading is the sum of the praise P and of the blame B (absolute values).

With the stars
--------------
A review with a star rating is labelled by weighing.py: a model learned from the labelled
review sets the project keeps weighs the reading (praise, blame, caveats, neutral phrases,
questions, contrasts, a text that says its stars are a slip) and its words against the
stars. The hand-set weights this module had for that until round 4 of the analysis did
well on the reviews they were tuned on and worse than the stars alone on two of the four
sets written independently; the learned weights did better on all four (README, "Quality
benchmark").

Without stars the text decides alone: its points are `P - B`, counted less when the text is
two-sided (both praise and blame beyond caveats: by MIXED times the smaller over the
larger), unless it turned on a contrast, which says which side wins. The label is neutral
while the points are within the dead zone (DEAD_ZONE, wider by NEUTRAL_ZONE per neutral
phrase), positive or negative beyond it; the compound maps the points into -1..1 so that
the zone's edge is THRESHOLD. A text that says nothing, without stars, is neutral; no text
(not a word, emoji or rating) with stars: the stars alone, `(score - 3) / 2`.

Where it says it
----------------
`aside` names the words of a positive or negative review that do not carry its label (a
part that says the opposite, a conceded part, a wish or a request, the silent side of a
contrast), so that its keywords, and the app's themes, come from what it praises or
blames: "the subscription" is not a praise of "love the route planner, though the
subscription is a bit expensive".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from nlp_worker.lexicon import MAX_PHRASE_WORDS, Lexicon
from nlp_worker.text import Tokens
from nlp_worker.weighing import SentimentModel, features, likeliest, shipped

ALPHA = 6.0
THRESHOLD = 0.2
DEAD_ZONE = 1.0  # points nearer 0 than this: neutral
NEUTRAL_ZONE = 0.8  # each neutral phrase ("okay", "would like") widens it
MIXED = 0.5  # a text with both praise and blame counts less
ZONE_SCALE = (1 - THRESHOLD**2) / THRESHOLD**2  # points at the zone's edge -> THRESHOLD
NEGATION_WINDOW = 4
NEGATED_GOOD = -0.75  # "not good"
NEGATED_BAD = -0.4  # "not bad"
INTENSIFIER = 1.3
BEFORE_CONTRAST = 0.5
AFTER_CONTRAST = 1.5
LOSS = -0.8  # a good word under a loss marker
FAILS = -2.6  # something the app should do, negated ("won't even open", "lädt nicht")
LOSS_MARKER = -1.0  # a loss marker by itself
MIXED_PRAISE = 0.5
QUESTION = 0.4
CONCESSIVE = 0.5
LOW_STAR_PRAISE = 0.5
DIMINISHER = 0.5
RATING_PRAISE = 2.5  # "10/10", "9/10", "5/5" in the text
RATING_BLAME = -2.5  # "0/10", "2/10", "1/5"
SHOUT = 1.3  # a word of praise or blame in capitals ("USELESS")
RECOVERED = 0.3  # a complaint about the past ("it was confusing at first", "used to crash")
SARCASM = -0.6  # praise beside a complaint and an ironic cue ("great, another update that ...")
SHORT_SENTENCE = 3  # words: "Great." beside "Another update that breaks everything."
WISH_WINDOW = 3  # "would be really cool": praise this near after a wish marker is a wish
CJK_WORDS = 3  # Japanese and Chinese tokens are shorter: a window spans this many more
MARKERS = (
    "negators", "negators_after", "contrast", "concessive", "past", "until", "no_longer",
    "misrated", "diminishers", "wish", "neutral", "frequent", "was", "caveat", "sarcasm",
    "repaired", "and",
)  # fmt: skip
EMOJI = {
    "😍": 3.0, "🥰": 3.0, "❤": 2.5, "😊": 2.0, "😀": 2.0, "😁": 2.0, "😃": 2.0, "🙂": 1.0,
    "👍": 2.0, "👌": 2.0, "💯": 2.5, "🔥": 2.0, "⭐": 1.5, "🌟": 1.5, "🎉": 2.0, "😂": 1.0,
    "😡": -3.0, "😠": -3.0, "🤬": -3.5, "👎": -2.5, "😢": -2.0, "😭": -2.0, "😞": -2.0,
    "😤": -2.0, "💩": -3.0, "🙄": -1.5, "😒": -1.5, "🤮": -3.0, "😩": -2.0, "😫": -2.0,
    "🤩": 3.0, "😎": 2.0, "💪": 2.0, "✨": 1.5, "🙏": 1.0, "👏": 2.5, "💖": 2.5, "💕": 2.5,
    "💗": 2.5, "💙": 2.0, "💚": 2.0, "😄": 2.0, "😆": 1.5, "☺": 2.0, "🤗": 2.0, "✅": 1.0,
    "🏆": 2.5, "🥳": 2.5, "💔": -2.5, "😐": -0.5, "😕": -1.5, "🙁": -1.5, "☹": -2.0,
    "😑": -1.0, "🤡": -2.5, "🤦": -2.0, "🗑": -2.5, "😖": -2.0, "😣": -2.0, "🤢": -2.5,
    "😱": -1.5, "🥵": -1.0, "🐌": -1.5, "❌": -1.5, "🥱": -1.5,
    "🤣": 1.0, "😅": 0.3, "😉": 1.0, "😘": 2.0, "🙌": 2.5, "👑": 2.0, "🥇": 2.5, "✌": 1.0,
    "🤝": 1.5, "💥": 0.5, "🤯": 1.0, "😬": -1.0, "😪": -1.0, "😴": -1.5, "💤": -1.5,
    "🤷": -0.3, "🖕": -3.5, "🤑": -1.5, "💸": -1.5, "🐞": -1.5, "🐛": -1.5, "⚠": -1.0,
    "😓": -1.5, "😥": -1.5, "😔": -1.5, "😟": -1.5, "😰": -1.5, "😨": -1.5, "🙃": -0.5,
    "😇": 2.0, "😋": 2.0, "😌": 1.5, "🥹": 2.0, "😺": 1.5, "😻": 3.0, "💝": 2.5, "💞": 2.5,
    "💓": 2.5, "💜": 2.0, "🧡": 2.0, "💛": 2.0, "🤍": 2.0, "♥": 2.5, "😾": -2.0,
    "⛔": -1.5, "🚫": -1.5, "🆗": 0.3, "🎊": 2.0, "🍀": 1.0, "🚀": 2.0, "⚡": 1.0, "🌈": 1.0,
    "🤔": -0.3, "😶": -0.5, "🫠": -1.0, "🥲": -0.5, "😮": -0.3, "😧": -1.5, "😦": -1.5,
    "🔝": 2.0, "🆒": 1.5, "👊": 1.0, "🤞": 0.3, "🫶": 2.5, "🤌": 1.5, "😹": 1.0, "🤪": 1.0,
    # emoticons, as the tokenizer spells them
    ":)": 1.8, ":d": 2.2, ";)": 1.2, ":p": 0.8, ":3": 1.5, ":*": 1.8, "<3": 2.5, "^^": 1.5,
    "xd": 1.2, ":(": -2.0, ":'(": -2.2, ">:(": -2.8, ":/": -1.2, ":|": -0.6, ":c": -1.5,
    "t_t": -2.0, ";(": -2.0,
}  # fmt: skip


@dataclass(frozen=True)
class Sentiment:
    compound: float
    label: str
    text: float  # the text's own polarity, -1..1
    evidence: float  # how much the text said (sum of absolute valences)
    aside: frozenset[int] = frozenset()  # tokens that do not carry the label (see `aside`)
    features: Mapping[str, float] | None = field(default=None, compare=False)  # weighed

    def as_dict(self) -> dict[str, float | str]:
        return {"compound": self.compound, "label": self.label}


@dataclass
class _Hit:
    index: int
    valence: float
    clause: int
    sentence: int
    negated: bool = False  # a phrase that holds its own negation ("doesn't work")
    function: bool = False  # what an app does ("open", "load"): negated, a failure
    faint: bool = False  # a negated complaint ("not bad"): no more than faint praise
    diminished: bool = False  # "a bit slow": a caveat
    lost: bool = False  # praise of something gone ("used to be good"), now blame


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


def score(
    tokens: Tokens, lexicon: Lexicon, stars: object = None, model: SentimentModel | None = None
) -> Sentiment:
    """The review's sentiment: weighed by `model` (the shipped one by default) when it has
    stars, by the text alone when it has none."""
    rating = rating_compound(stars)
    reading = read(tokens, lexicon, low_stars=(rating or 0) < 0)
    text_sum = reading.positive - reading.negative
    evidence = reading.positive + reading.negative
    text = round(text_sum / math.sqrt(text_sum * text_sum + ALPHA) if text_sum else 0.0, 4)
    if rating is not None and not tokens.tokens:  # no text to weigh: the stars
        return Sentiment(rating, label_for(rating), 0.0, 0.0)
    if rating is not None:
        found = features(tokens, reading, float(stars))  # a rating: 1..5
        chances = (model or shipped()).probabilities(found)
        label = likeliest(chances)
        compound = round(chances["positive"] - chances["negative"], 4)
        parts = aside(reading.parts, label)
        return Sentiment(compound, label, text, round(evidence, 3), parts, found)
    if evidence == 0 and not reading.neutral:
        return Sentiment(0.0, "neutral", 0.0, 0.0)
    total, zone = text_points(reading)
    compound = total / math.sqrt(total * total + ZONE_SCALE * zone * zone)
    compound = round(max(-1.0, min(1.0, compound)), 4)
    label = label_for(compound)
    return Sentiment(compound, label, text, round(evidence, 3), aside(reading.parts, label))


def text_points(reading: Reading) -> tuple[float, float]:
    """(points, dead zone) of a text read without stars: how far from 0 the points must be
    for a label other than neutral."""
    positive, negative = reading.positive, reading.negative
    text_sum = positive - negative
    blame = negative - reading.caveats  # a caveat ("a bit slow") does not make it two-sided
    if positive and blame and not reading.turned:  # two-sided: less sure of its side, unless
        # it turned on a contrast, which says which side wins
        text_sum *= max(0.0, 1 - MIXED * min(positive, blame) / max(positive, blame))
    return text_sum, DEAD_ZONE + NEUTRAL_ZONE * reading.neutral


@dataclass
class Reading:
    positive: float  # the sum of the adjusted valences above 0
    negative: float  # the sum of the absolute adjusted valences below 0
    caveats: float  # the part of `negative` that was diminished ("a bit slow")
    neutral: int  # neutral phrases ("okay", "would like")
    misrated: bool  # the text says the stars are a slip
    asks: bool  # every sentence a question
    turned: bool = False  # praise and blame on the two sides of a contrast
    turn: float = 0.0  # what the text says after its turns, caveats aside
    parts: Parts | None = None  # where it says what


@dataclass(frozen=True)
class Parts:
    """Where a text says what. Each token's part: its clause, cut again at each contrast and
    concession ("nice, but slow" and "great, though pricey" are two parts each); what each
    part says (the sum of its words' weighed valences); the conceded parts ("though
    pricey"), those that ask or wish ("I wish it synced", "would be nice"), and the two
    parts on either side of each contrast."""

    of: tuple[tuple[int, int], ...]
    says: dict[tuple[int, int], float]
    conceded: frozenset[tuple[int, int]]
    requests: frozenset[tuple[int, int]]
    turns: tuple[tuple[tuple[int, int], tuple[int, int]], ...]


def aside(parts: Parts | None, label: str) -> frozenset[int]:
    """The tokens of a positive or negative review that do not carry its label, so that its
    themes come from the parts that do: a part that says the opposite ("great design" in a
    complaint), a conceded part ("though a bit expensive"), a
    wish or a request ("hoping the next update improves things"), and, where a contrast has
    the label on one side, the other side when it says nothing ("lyrics are nice but not
    available for every song")."""
    if parts is None or label == "neutral":
        return frozenset()
    sign = 1.0 if label == "positive" else -1.0
    off = set(parts.conceded | parts.requests)
    off |= {part for part, says in parts.says.items() if says * sign < 0}
    for before, after in parts.turns:
        first, second = parts.says.get(before, 0.0), parts.says.get(after, 0.0)
        if first * sign > 0 and not second:
            off.add(after)
        elif second * sign > 0 and not first:
            off.add(before)
    return frozenset(index for index, part in enumerate(parts.of) if part in off)


def read(tokens: Tokens, lexicon: Lexicon, *, low_stars: bool = False) -> Reading:
    """What the text says. `low_stars`: one or two stars, where praise beside a complaint
    is mostly sarcasm or a polite preamble: it then counts at half."""
    items = tokens.tokens
    words = [token.text for token in items]
    markers: dict[str, list[int]] = {name: [] for name in MARKERS}
    intensified: set[int] = set()
    hits: list[_Hit] = []
    i = 0
    while i < len(items):
        span, kind, valence = _match(words, i, lexicon, items)
        token = items[i]
        if kind in ("valence", "function"):
            negated = span > 1 and _is_negator(words[i], lexicon)
            hit = _Hit(i, valence, token.clause, token.sentence, negated)
            hit.function = kind == "function"
            hits.append(hit)
        elif kind == "intensifiers":
            intensified.add(i + span)
        elif kind is not None:
            markers[kind].append(i)
            if span == 1:  # German "nie", "nicht": before and after
                for name in MARKERS:
                    if name != kind and lexicon.has(name, words[i]):
                        markers[name].append(i)
        i += span

    functions = frozenset(hit.index for hit in hits if hit.function)
    # "confusing at first", "used to crash": a past marker that speaks of a complaint in its
    # clause tells of something bad that is gone, not of good that is lost
    part = _parts(items, markers["contrast"], "clause")
    recovering = {
        index
        for index in markers["past"]
        if any(
            hit.valence < 0 and not hit.function and part[hit.index] == part[index] for hit in hits
        )
    }
    for_loss = {**markers, "past": [index for index in markers["past"] if index not in recovering]}
    wishes = 0
    window = WISH_WINDOW * (CJK_WORDS if lexicon.substring else 1)
    for hit in hits:
        if hit.valence > 0 and _near_after(hit, items, markers["wish"], window):
            hit.valence = 0.0  # "would be cool if it synced": a wish, not praise
            wishes += 1
            continue
        hit.valence *= INTENSIFIER if hit.index in intensified else 1.0
        hit.valence *= SHOUT if items[hit.index].shout else 1.0
        if _diminished(hit, items, markers):
            hit.valence *= DIMINISHER
            hit.diminished = True
        if not hit.negated and _negated(hit, items, markers, lexicon, functions):
            if hit.function:  # "won't even open", "lädt nicht", "没法登录"
                hit.valence = FAILS * (DIMINISHER if hit.diminished else 1.0)
            else:
                hit.faint = hit.valence < 0  # "not bad": faint praise
                hit.valence *= NEGATED_GOOD if hit.valence > 0 else NEGATED_BAD
        elif hit.valence < 0 and not hit.function and _repaired(hit, items, markers):
            hit.faint = True  # "they fixed the crashes", "Fehler behoben": a complaint gone
            hit.valence *= NEGATED_BAD
        if hit.valence > 0 and _lost(hit, items, for_loss):
            hit.valence *= LOSS
            hit.lost = True
        if hit.valence < 0 and any(items[f].clause == hit.clause for f in markers["frequent"]):
            hit.valence *= INTENSIFIER  # "crashes every time", "ständig"
        if hit.valence < 0 and not hit.diminished and _after_caveat(hit, items, markers):
            hit.valence *= DIMINISHER  # "my only complaint is that the widget is slow"
            hit.diminished = True
    # a loss marker says something only beside words that do ("Prima" alone is no loss)
    losses = _losses(hits, items, markers, recovering, part) if hits else 0
    turned, turn = _weigh_sentences(hits, items, markers, tokens.questions, low_stars=low_stars)
    if low_stars and not markers["misrated"] and any(hit.valence < 0 for hit in hits):
        for hit in hits:
            if hit.valence > 0:
                hit.valence *= LOW_STAR_PRAISE
    positive = sum(hit.valence for hit in hits if hit.valence > 0)
    negative = -sum(hit.valence for hit in hits if hit.valence < 0) + abs(LOSS_MARKER) * losses
    caveats = -sum(hit.valence for hit in hits if hit.valence < 0 and hit.diminished)
    return Reading(
        positive, negative, caveats, _neutral(items, markers) + wishes, bool(markers["misrated"]),
        _only_questions(tokens), turned, turn, _where(items, hits, markers),
    )  # fmt: skip


def _where(items: list, hits: list[_Hit], markers: dict[str, list[int]]) -> Parts:
    of = _parts(items, markers["contrast"] + markers["concessive"], "clause")
    says: dict[tuple[int, int], float] = {}
    for hit in hits:  # a negated complaint ("without any warning") is no praise of its part
        if not hit.faint:
            says[of[hit.index]] = says.get(of[hit.index], 0.0) + hit.valence
    turns = tuple(
        (of[index - 1], of[index])
        for index in markers["contrast"]
        if index and items[index - 1].sentence == items[index].sentence
    )
    return Parts(
        tuple(of),
        says,
        frozenset(of[index] for index in markers["concessive"]),
        frozenset(of[index] for index in markers["neutral"] + markers["wish"]),
        turns,
    )


def _neutral(items: list, markers: dict[str, list[int]]) -> int:
    """The neutral phrases that count: not those of a conceded clause ("design soigné, même
    s'il manque quelques trucs": what is missing is conceded, the verdict is elsewhere), nor
    those said of the past ("it was okay at first, but now ...")."""
    past = markers["past"] + markers["was"]
    return sum(
        not any(c < index and items[c].clause == items[index].clause for c in markers["concessive"])
        and not any(items[c].clause == items[index].clause for c in past)
        for index in markers["neutral"]
    )


def _near_after(hit: _Hit, items: list, found: list[int], window: int) -> bool:
    return any(
        0 < hit.index - index <= window and items[index].clause == hit.clause for index in found
    )


def _parts(
    items: list, contrasts: list[int], unit: Literal["clause", "sentence"]
) -> list[tuple[int, int]]:
    """Each token's clause (or sentence: `unit`), and how many of the `contrasts` come
    before it in that clause or sentence: which side of a contrast it is on ("used to love
    it but now it is slow": two parts)."""
    turns = set(contrasts)
    parts, current, side = [], -1, 0
    for index, token in enumerate(items):
        number = token.clause if unit == "clause" else token.sentence
        if number != current:
            current, side = number, 0
        side += index in turns
        parts.append((current, side))
    return parts


def _losses(
    hits: list[_Hit],
    items: list,
    markers: dict[str, list[int]],
    recovering: set[int],
    part: list[tuple[int, int]],
) -> int:
    """How many loss markers count as a complaint by themselves ("used to be good", "no
    longer"). A past marker that speaks of a complaint in its clause (`recovering`: "it was
    confusing at first", "used to crash") tells of something bad that is gone: the
    complaint counts at RECOVERED, and the marker is no loss; nor is "no longer" before a
    complaint ("no longer crashes")."""
    losses = len(markers["until"])
    for index in markers["past"]:
        if index not in recovering:
            losses += 1
            continue
        for hit in hits:
            complaint = hit.valence < 0 and not hit.function and not hit.lost
            if complaint and part[hit.index] == part[index]:
                hit.valence *= RECOVERED
    for index in markers["no_longer"]:
        losses += not any(
            hit.faint and index < hit.index and items[hit.index].clause == items[index].clause
            for hit in hits
        )
    return losses


def _only_questions(tokens: Tokens) -> bool:
    sentences = {token.sentence for token in tokens.tokens}
    return bool(sentences) and sentences <= tokens.questions


def _is_negator(word: str, lexicon: Lexicon) -> bool:
    return any(lexicon.has(name, word) for name in ("negators", "no_longer"))


def _diminished(hit: _Hit, items: list, markers: dict[str, list[int]]) -> bool:
    """ "a bit slow", "un peu lente": a diminisher up to four words before, same clause, and
    not across "and" ("tiny and useless": only "tiny" is small)."""
    return any(
        0 < hit.index - index <= NEGATION_WINDOW
        and items[index].clause == hit.clause
        and not any(index < k < hit.index for k in markers["and"])
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
            if phrase in phrases and name in (*MARKERS, "intensifiers", "function"):
                return length, name, 0.0
    word = words[i]
    if items[i].emoji:
        value = EMOJI.get(word) if not word.endswith("/100") else _rating_valence(word)
        return 1, ("valence" if value else None), value or 0.0
    for name in MARKERS:
        if lexicon.has(name, word):
            return 1, name, 0.0
    value = lexicon.valence(word)
    if lexicon.has("function", word):
        return 1, "function", value or 0.0
    if lexicon.has("intensifiers", word):
        # "super fast" boosts, "super!" praises: an intensifier before a word that means
        # something; itself otherwise
        following = words[i + 1] if i + 1 < len(words) else ""
        if not value or (following and lexicon.valence(following)):
            return 1, "intensifiers", 0.0
    if value:
        return 1, "valence", value
    return 1, None, 0.0


def _rating_valence(share: str) -> float:
    """A rating in the text ("9/10" is "90/100"): 80 and up praise, 40 and below blame."""
    percent = int(share.split("/")[0])
    return RATING_PRAISE if percent >= 80 else RATING_BLAME if percent <= 40 else 0.0


def _after_caveat(hit: _Hit, items: list, markers: dict[str, list[int]]) -> bool:
    return any(
        index < hit.index and items[index].sentence == hit.sentence for index in markers["caveat"]
    )


def _negated(
    hit: _Hit,
    items: list,
    markers: dict[str, list[int]],
    lexicon: Lexicon,
    functions: frozenset[int],
) -> bool:
    """A negator shortly before it in its clause (up to the first function word after the
    negator: "won't open since the update" negates the opening, not the update), or, in
    German, Dutch and Japanese, shortly after."""
    for index in markers["negators"] + markers["no_longer"]:
        if (
            0 < hit.index - index <= NEGATION_WINDOW
            and items[index].clause == hit.clause
            and not any(index < f < hit.index for f in functions)
        ):
            return True
    after = markers["negators_after"]
    if lexicon.lists.get("negators_after"):  # "lädt nicht mehr", "werkt niet meer"
        after = after + markers["no_longer"]
    for index in after:
        if 0 < index - hit.index <= NEGATION_WINDOW and items[index].clause == hit.clause:
            return True
    return False


def _repaired(hit: _Hit, items: list, markers: dict[str, list[int]]) -> bool:
    """A complaint next to "fixed" / "behoben" / "修复了" in its clause (either side: "they
    fixed the crash", "crash fixed"): something bad that is gone."""
    return any(
        0 < abs(hit.index - index) <= NEGATION_WINDOW and items[index].clause == hit.clause
        for index in markers["repaired"]
    )


def _sarcasm(
    hits: list[_Hit], items: list, markers: dict[str, list[int]], *, low_stars: bool
) -> None:
    """Irony: on the side of a sentence (before or after its contrast) that holds an ironic
    cue ("another update", "yet again", "encore une") and a complaint (or in a review of one
    or two stars), praise means its opposite: "Great, another update that breaks
    everything"; but not across a contrast ("hesitant to pay for yet another subscription,
    but this one is worth it"). So does a short sentence of praise next to it ("Great."), and
    a short ironic sentence next to a complaint ("The widget is gone. Thanks a lot.")."""
    if not markers["sarcasm"]:
        return
    side = _parts(items, markers["contrast"], "sentence")
    sizes: dict[int, int] = {}
    for token in items:
        sizes[token.sentence] = sizes.get(token.sentence, 0) + 1
    complains = {side[hit.index] for hit in hits if hit.valence < 0 and not hit.diminished}
    near = {sentence for sentence, _ in complains}
    ironic = {
        side[index]
        for index in markers["sarcasm"]
        if low_stars
        or side[index] in complains
        or (  # "Now the widget is gone. Thanks a lot."
            sizes[items[index].sentence] <= SHORT_SENTENCE + 1
            and (items[index].sentence - 1 in near or items[index].sentence + 1 in near)
        )
    }
    if not ironic:
        return
    sentences = {sentence for sentence, _ in ironic}
    for sentence in list(sentences):  # "Great, now the widget is gone. Thanks a lot."
        if sizes[sentence] <= SHORT_SENTENCE + 1:
            sentences |= {sentence - 1, sentence + 1} & near
    ironic |= {part for part in complains if part[0] in sentences}
    for hit in hits:
        if hit.valence <= 0:
            continue
        beside = hit.sentence not in sentences and (
            sizes[hit.sentence] <= SHORT_SENTENCE
            and (hit.sentence - 1 in sentences or hit.sentence + 1 in sentences)
        )
        if side[hit.index] in ironic or beside:
            hit.valence *= SARCASM


def _lost(hit: _Hit, items: list, markers: dict[str, list[int]]) -> bool:
    """A good word that describes the past: in the sentence of "used to" / "früher" (on
    either side: "c'était mieux avant"), or before "until" in its sentence."""
    for index in markers["past"]:
        if items[index].sentence == hit.sentence:
            return True
    for index in markers["until"]:
        if hit.index < index and items[index].sentence == hit.sentence:
            return True
    # "it was good, but now ...": praise in the past tense before a contrast
    return any(
        index < hit.index and items[index].clause == hit.clause for index in markers["was"]
    ) and any(
        index > hit.index and items[index].sentence == hit.sentence for index in markers["contrast"]
    )


def _weigh_sentences(
    hits: list[_Hit],
    items: list,
    markers: dict[str, list[int]],
    questions: frozenset[int],
    *,
    low_stars: bool = False,
) -> tuple[bool, float]:
    """Weigh each hit by its place in its sentence; whether the text turns on a contrast
    ("great design, but it crashes"): then it has said which side wins; and what it says
    after the turn (more than a caveat), as a valence."""
    _sarcasm(hits, items, markers, low_stars=low_stars)
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
    turned, turn = False, 0.0
    for sentence, found in by_sentence.items():
        pivot = contrast_at.get(sentence)
        if pivot is None and sentence + 1 in contrast_at:
            first = contrast_at[sentence + 1]  # "Love it. But it crashes.": a turn across
            if first == 0 or items[first - 1].sentence != items[first].sentence:
                for hit in found:
                    hit.valence *= BEFORE_CONTRAST
                continue
        if pivot is not None:
            before = any(hit.index < pivot for hit in found)
            after = any(hit.index > pivot for hit in found)
            if pivot == 0 or items[pivot - 1].sentence != items[pivot].sentence:
                before = before or sentence - 1 in by_sentence
            turned = turned or (before and after)
            for hit in found:  # "not the best, but not bad either": faint praise stays faint
                if hit.index < pivot:
                    hit.valence *= BEFORE_CONTRAST
                elif not hit.faint:
                    hit.valence *= AFTER_CONTRAST
                if before and after and hit.index > pivot and not hit.diminished:
                    turn += hit.valence
        elif any(h.valence > 0 for h in found) and any(
            h.valence < 0 and not h.diminished for h in found
        ):
            for hit in found:
                if hit.valence > 0:
                    hit.valence *= MIXED_PRAISE
        if sentence in questions:
            for hit in found:
                hit.valence *= QUESTION
    return turned, turn
