"""Themes: what an app's unhappy reviewers complain about and its happy ones praise.

For each language (themes never mix languages), every review counts each of its terms once
(keywords.terms: its keywords and their words, stemmed by keywords.stem, the app's name left
out). A term's share of the negative reviews and of the positive ones are compared:

    issue score  = (share of negative reviews with it - share of positive ones) * idf
    praise score = the same the other way round
    idf          = ln((1 + reviews) / (1 + reviews with the term)) + 1   (smooth TF-IDF idf)

so a term that both sides use ("update", "music") scores near zero, and a term every review
uses weighs less. A term written alike in the reviews of SHARED languages or more (the
app's own name, a brand, a loanword) is weighed on all the app's reviews too: it must be
SHARED_RATIO times as common in the reviews of its side as in the others' ("bug" in
complaints), so that the app's name, used in praise and blame alike, is no theme of the
one language whose few reviews happen to praise it. Two-word terms score a quarter more,
to prefer "offline maps" to "maps".
A term needs at least MIN_REVIEWS reviews on its side. The best terms of each language are
taken greedily, skipping one that shares a word stem with a theme already taken or whose
reviews are mostly (OVERLAP) those of one ("maps fail" and "download" both come from
"offline maps fail to download": one theme); all
languages' themes are then ranked by how many reviews they come from, and the first TOP kept.

Each theme tells: its most common written form, its language, how many reviews of its side
mention it and their share of all the app's reviews, up to EXAMPLES review ids (newest first),
and those reviews counted per ISO week ("2026-W45", the latest MAX_WEEKS) and per app version
(the MAX_VERSIONS most frequent).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from nlp_worker.keywords import Term, stem

TOP = 10
MIN_REVIEWS = 2
EXAMPLES = 3
MAX_WEEKS = 52
MAX_VERSIONS = 20
PAIR_BONUS = 1.25
OVERLAP = 0.6
SHARED = 3  # a term written alike in this many languages is weighed on all the reviews
SHARED_RATIO = 2.0  # ... and must be this many times as common on its side as on the other
SIDES = {"issues": "negative", "praises": "positive"}


@dataclass(frozen=True)
class Doc:
    review_id: str
    label: str
    language: str
    at: str  # ISO time or ""
    week: str | None
    version: str | None
    terms: frozenset[Term]  # as written


@dataclass
class _Candidate:
    key: Term
    score: float
    docs: list[Doc] = field(default_factory=list)


def find(docs: list[Doc], review_count: int) -> dict[str, list[dict]]:
    """{"issues": [...], "praises": [...]} for the docs of one app."""
    by_language: dict[str, list[Doc]] = defaultdict(list)
    for doc in docs:
        by_language[doc.language].append(doc)
    shared = _shared(by_language)
    found: dict[str, list[tuple[str, _Candidate, str]]] = {name: [] for name in SIDES}
    for language, group in sorted(by_language.items()):
        for name, side in SIDES.items():
            for candidate, label in _language_themes(group, side, shared):
                found[name].append((language, candidate, label))
    result = {}
    for name, themes in found.items():
        themes.sort(key=lambda item: (-len(item[1].docs), -item[1].score, item[2]))
        result[name] = [
            _describe(label, language, candidate.docs, review_count)
            for language, candidate, label in themes[:TOP]
        ]
    return result


def _shared(by_language: dict[str, list[Doc]]) -> dict[Term, dict[str, float]]:
    """Terms written alike in the reviews of SHARED languages or more (the app's name, a
    brand, a loanword: "trailmark", "bug"), with their share of all the app's positive and
    negative reviews: such a term is weighed on all of them, not on one language's few."""
    languages: dict[Term, set[str]] = defaultdict(set)
    for language, group in by_language.items():
        for doc in group:
            for term in doc.terms:
                languages[stem(term)].add(language)
    keys = {key for key, found in languages.items() if len(found) >= SHARED}
    if not keys:
        return {}
    sizes: Counter[str] = Counter()
    counts: dict[Term, Counter[str]] = {key: Counter() for key in keys}
    for group in by_language.values():
        for doc in group:
            sizes[doc.label] += 1
            for key in {stem(term) for term in doc.terms} & keys:
                counts[key][doc.label] += 1
    return {
        key: {label: counts[key][label] / max(1, sizes[label]) for label in SIDES.values()}
        for key in keys
    }


def _language_themes(
    docs: list[Doc], side: str, shared: dict[Term, dict[str, float]]
) -> list[tuple[_Candidate, str]]:
    other = "positive" if side == "negative" else "negative"
    counts = {side: Counter(), other: Counter(), "all": Counter()}
    postings: dict[Term, list[Doc]] = defaultdict(list)
    surfaces: dict[Term, Counter[Term]] = defaultdict(Counter)
    sizes = Counter(doc.label for doc in docs)
    for doc in docs:
        keys = {}
        for term in doc.terms:
            keys.setdefault(stem(term), term)
            surfaces[stem(term)][term] += 1
        for key in keys:
            counts["all"][key] += 1
            if doc.label in (side, other):
                counts[doc.label][key] += 1
            if doc.label == side:
                postings[key].append(doc)
    if not sizes[side]:
        return []
    candidates = []
    for key, on_side in counts[side].items():
        if on_side < MIN_REVIEWS:
            continue
        contrast = on_side / sizes[side] - counts[other][key] / max(1, sizes[other])
        if key in shared and shared[key][side] < SHARED_RATIO * shared[key][other]:
            continue  # on all the app's reviews, as common on both sides: a name
        if contrast <= 0:
            continue
        idf = math.log((1 + len(docs)) / (1 + counts["all"][key])) + 1
        bonus = PAIR_BONUS if len(key) > 1 else 1.0
        candidates.append(_Candidate(key, contrast * idf * bonus, postings[key]))
    candidates.sort(key=lambda c: (-c.score, -len(c.docs), c.key))
    chosen: list[tuple[_Candidate, str]] = []
    taken: set[str] = set()
    for candidate in candidates:
        if taken & set(candidate.key) or any(
            _overlap(candidate.docs, other.docs) for other, _ in chosen
        ):
            continue
        label = " ".join(max(surfaces[candidate.key].items(), key=lambda s: (s[1], s[0]))[0])
        chosen.append((candidate, label))
        taken |= set(candidate.key)
        if len(chosen) == TOP:
            break
    return chosen


def _overlap(first: list[Doc], second: list[Doc]) -> bool:
    ids = {doc.review_id for doc in first}
    shared = sum(doc.review_id in ids for doc in second)
    return shared >= OVERLAP * min(len(first), len(second))


def _describe(label: str, language: str, docs: list[Doc], review_count: int) -> dict:
    newest = sorted(docs, key=lambda doc: (doc.at, doc.review_id), reverse=True)
    weeks = Counter(doc.week for doc in docs if doc.week)
    versions = Counter(doc.version for doc in docs if doc.version)
    latest_weeks = sorted(weeks)[-MAX_WEEKS:]
    top_versions = sorted(versions.items(), key=lambda item: (-item[1], item[0]))[:MAX_VERSIONS]
    return {
        "theme": label,
        "language": language,
        "review_count": len(docs),
        "share": round(len(docs) / review_count, 4) if review_count else 0.0,
        "example_review_ids": [doc.review_id for doc in newest[:EXAMPLES]],
        "per_week": {week: weeks[week] for week in latest_weeks},
        "per_version": dict(sorted(top_versions)),
    }
