"""Review text as tokens: words (lower case), with the clause and sentence each is in.

Words are runs of letters (an apostrophe inside stays: "don't", "l'app" -> "l'", "app" is not
split, which is what the lexicons expect), emoji and emoticons (":)", ":-(", "<3") are tokens
of their own, and so is a rating in the text ("10/10", "0/5"). Words in capitals are marked
("NEVER", "USELESS": said louder). A letter held down ("sooo gooood", "bestttt", "nuuul") is
read as the word the lexicon knows, with the run cut to two letters or to one. A sentence
ends at
. ! ? or a line break (and their CJK forms); a clause also ends at , ; : and before a
contrast word (the caller marks those). Japanese and Chinese have no spaces: their text is
cut by longest match against the language's lexicon and lists, one character otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlp_worker.lexicon import Lexicon

_TOKEN = re.compile(
    r"(?P<rating>(?<![\d.,/])(?:10|[0-9](?:[.,]5)?)\s?/\s?(?:10|5)(?![\d.,]?\d|[^\W\d_]))"
    r"|(?P<emoticon>(?:(?<!\d)>?[:;=]['\-^o]?[)(\]\[dpc3*|]+|:'\(|<3+|\^_?\^|\bt_t\b|\bxd+\b)(?![^\W_])"
    r"|(?<!\S)[:=]-?[/\\](?!\S))"
    r"|(?P<word>[^\W\d_]+(?:'[^\W\d_]+)*)"  # typographic apostrophes are made plain first
    r"|(?P<emoji>[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2764])"
    r"|(?P<sentence>[.!?\n。！？]+)"  # noqa: RUF001 (CJK punctuation on purpose)
    r"|(?P<clause>[,;:，、；：]|\s[-–—]\s)",  # noqa: RUF001
    re.IGNORECASE,
)
_HELD = re.compile(r"([^\W\d_])\1\1")
_HELD_TWO = re.compile(r"([^\W\d_])\1{2,}")
_HELD_ONE = re.compile(r"([^\W\d_])\1+")
_CJK_STOP = frozenset(".!?\n。！？")  # noqa: RUF001
_CJK_CLAUSE = frozenset(",;:，、；：")  # noqa: RUF001
MAX_CJK_TERM = 8
SHOUT_LETTERS = 3  # "BAD", "NEVER": capitals that say it louder ("OK", "I" do not)


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    clause: int
    sentence: int
    emoji: bool = False  # an emoji, an emoticon or a rating ("8/10")
    shout: bool = False  # written in capitals ("NEVER", "USELESS")
    capital: bool = False  # begins with a capital ("Google", "Drive"; first words too)


@dataclass
class Tokens:
    tokens: list[Token]
    questions: frozenset[int]  # sentences that end with "?"


def tokenize(text: str, lexicon: Lexicon) -> Tokens:
    if lexicon.substring:
        return _tokenize_unspaced(text.lower(), lexicon)
    tokens: list[Token] = []
    questions: set[int] = set()
    clause = sentence = 0
    elision = lexicon.flag("elision")
    for match in _TOKEN.finditer(text.replace("’", "'")):  # noqa: RUF001
        kind = match.lastgroup
        if kind == "word":
            word = match.group().lower()
            shout = len(word) >= SHOUT_LETTERS and match.group().isupper()
            if _HELD.search(word):
                word = held_down(word, lexicon)
            if elision and "'" in word:  # French, Italian: "n'est" -> "n'", "est"
                *heads, tail = word.split("'")
                tokens += [Token(head + "'", clause, sentence) for head in heads]
                word = tail
            capital = match.group()[:1].isupper()
            tokens.append(Token(word, clause, sentence, shout=shout, capital=capital))
        elif kind in ("emoji", "emoticon"):
            tokens.append(Token(_emoticon(match.group().lower()), clause, sentence, emoji=True))
        elif kind == "rating":
            tokens.append(Token(_rating(match.group()), clause, sentence, emoji=True))
        elif kind == "sentence":
            if "?" in match.group():
                questions.add(sentence)
            sentence += 1
            clause += 1
        else:
            clause += 1
    return Tokens(tokens, frozenset(questions))


def held_down(word: str, lexicon: Lexicon) -> str:
    """ "gooood" -> "good", "bestttt" -> "best", "sooo" -> "so": the word with each run of three
    or more of a letter cut to two, or else to one, whichever the lexicon knows (two first)."""
    two = _HELD_TWO.sub(r"\1\1", word)
    if lexicon.knows(two):
        return two
    one = _HELD_ONE.sub(r"\1", two)
    return one if lexicon.knows(one) else word


def _rating(text: str) -> str:
    """ "8/10", "4.5 / 5": the rating as a share of the top, spelt "8/10" -> "80/100"."""
    given, _, top = text.replace(" ", "").replace(",", ".").partition("/")
    return f"{round(100 * min(1.0, float(given) / float(top)))}/100"


def _emoticon(text: str) -> str:
    """One spelling per emoticon: ":-))" and "=)" -> ":)", ":ddd" -> ":d", "<333" -> "<3"."""
    for head, same in (("<3", "<3"), ("xd", "xd"), ("^", "^^"), ("t_t", "t_t"), (":'(", ":'(")):
        if text.startswith(head):
            return same
    if text[0] not in ":;=>":
        return text  # an emoji
    angry = ">" if text[0] == ">" else ""
    eyes = ";" if ";" in text[:2] else ":"
    mouth = text.lstrip(">:;=").lstrip("'-^o")[:1]
    return angry + eyes + {"]": ")", "[": "(", "\\": "/"}.get(mouth, mouth)


def _terms(lexicon: Lexicon) -> frozenset[str]:
    terms = set(lexicon.words) | set(lexicon.prefixes)
    for items in lexicon.lists.values():
        terms |= items
    return frozenset(term for term in terms if term)


def _tokenize_unspaced(text: str, lexicon: Lexicon) -> Tokens:
    terms = _cached_terms(lexicon)
    tokens: list[Token] = []
    questions: set[int] = set()
    clause = sentence = 0
    position = 0
    while position < len(text):
        char = text[position]
        if char in _CJK_STOP:
            if char in "?？":  # noqa: RUF001
                questions.add(sentence)
            if tokens and tokens[-1].sentence == sentence:
                sentence += 1
                clause += 1
            position += 1
            continue
        if char in _CJK_CLAUSE:
            clause += 1
            position += 1
            continue
        if char.isspace():
            position += 1
            continue
        for end in range(min(len(text), position + MAX_CJK_TERM), position, -1):
            if text[position:end] in terms:
                break
        else:
            end = position + 1
            while end < len(text) and text[end].isascii() and text[end].isalpha():
                end += 1  # a Latin word inside ("bug")
        tokens.append(Token(text[position:end], clause, sentence, emoji=_is_emoji(char)))
        position = end
    return Tokens(tokens, frozenset(questions))


_TERMS: dict[str, frozenset[str]] = {}


def _cached_terms(lexicon: Lexicon) -> frozenset[str]:
    terms = _TERMS.get(lexicon.language)
    if terms is None:
        terms = _TERMS[lexicon.language] = _terms(lexicon)
    return terms


def _is_emoji(char: str) -> bool:
    match = _TOKEN.fullmatch(char)
    return match is not None and match.lastgroup == "emoji"
