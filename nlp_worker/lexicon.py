"""The per-language word lists the analysis reads: nlp_worker/lexicons/{code}.txt.

Written for this project (no third-party word list is copied; English also draws on VADER's
lexicon, MIT-licensed, which vaderSentiment ships). A file holds:

    # a comment
    @negators not no never ...         a list: space-separated, "_" joins a phrase
    worst -3.1                         a word or phrase and its valence (-4..4)
    crash* -2.2                        "*": any word that starts so (crashes, crashed ...)
    *fehler -1.6                       "*" first: a compound that ends so (Ladefehler)

Lists: `negators` (flip what follows in the clause), `negators_after` (flip what comes just
before: German "gefällt mir nicht"), `contrast` ("but": the clause after weighs more),
`concessive` ("though": its own clause weighs less), `past` ("used to", "früher": the
good that follows is gone), `was` ("was", "war", "era": praise after it in a sentence that
then turns with a contrast is gone), `until` ("was great until": the good before it is
gone), `no_longer` ("no longer", "nicht mehr": a negator that also
marks a loss), `misrated` ("meant to give 5": the stars are a slip, ignore them),
`diminishers` ("a bit", "except for": weaken what follows), `caveat` ("my only
complaint": weaken the complaints after it in the sentence), `neutral` (phrases that say
"neither good nor bad": "okay", "would like", "please add"), `frequent` ("constantly",
"every time": a complaint in their clause weighs more), `sarcasm` ("another update", "yet
again", "encore une": beside a complaint, the praise of their sentence is ironic), `wish`
("would be", "wäre", "sería": praise just after it is a wish, neutral: "would be cool if
..."), `repaired` ("they fixed", "behoben", "修复了": a complaint beside it in its clause is
gone), `function` (what an app should do:
"open", "load", "lädt"; negated, a failure), `intensifiers` (boost what follows),
`stopwords` (not themes or keywords), `circumstance` ("on", "during", "when": the words they
bring in say where or when, not what: "on mobile data", "during my lunch break"),
`verb_next` (English "to", "can", "I", "me": the word right after them is a verb, not a
topic: "motivates me to practise"), `and` ("and", "und", "i": a diminisher before it does
not reach past it: "a bit slow and useless").
`@flags` (read with `Lexicon.flag`, of the whole file wherever the line stands): `substring`
(scripts without spaces, Japanese and Chinese: matched by substring, and an entry with a
space is a word, not a phrase), `elision` (French, Italian: "n'est" is "n'", "est"),
`inflected` (Polish, Russian: a long word with one letter missing or extra is no typo of a
strong word, since that is how the forms of a word differ there).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

LISTS = (
    "negators",
    "negators_after",
    "contrast",
    "concessive",
    "past",
    "was",
    "until",
    "no_longer",
    "misrated",
    "diminishers",
    "caveat",
    "wish",
    "neutral",
    "frequent",
    "sarcasm",
    "repaired",
    "function",
    "intensifiers",
    "stopwords",
    "circumstance",
    "verb_next",
    "and",
    "flags",
)
MAX_PHRASE_WORDS = 5
MIN_HEAD = 3  # letters before a suffix entry: "*fehler" matches "ladefehler", not "fehler"
TYPO_LETTERS = 6  # a word this long that the lexicon does not know may be a typo of one it does
LONG_WORD = 8  # ... and from this many letters, one letter missing or extra anywhere
TYPO_VALENCE = 1.2  # ... of a word at least this strong ("horible", "usefull", "dissapointed")


@dataclass
class Lexicon:
    language: str
    words: dict[str, float] = field(default_factory=dict)  # single words
    phrases: dict[tuple[str, ...], float] = field(default_factory=dict)  # 2+ words
    prefixes: dict[str, float] = field(default_factory=dict)  # "crash" for crash*
    suffixes: dict[str, float] = field(default_factory=dict)  # "fehler" for *fehler
    lists: dict[str, frozenset[str]] = field(default_factory=dict)
    phrase_lists: dict[str, frozenset[tuple[str, ...]]] = field(default_factory=dict)
    background: set[str] = field(default_factory=set)  # words from VADER, not ours
    _typos: dict[str, set[str]] | None = None  # each strong word under its one-letter deletions

    def flag(self, name: str) -> bool:
        """Whether the file sets this `@flags` entry ("substring", "elision")."""
        return self.has("flags", name)

    @property
    def substring(self) -> bool:
        return self.flag("substring")

    def has(self, name: str, word: str) -> bool:
        return word in self.lists.get(name, frozenset())

    def knows(self, word: str) -> bool:
        """Whether the word means anything here: a valence, or a place in a list."""
        return self.valence(word) is not None or any(word in items for items in self.lists.values())

    def valence(self, word: str) -> float | None:
        """The valence of one word: exact, else the longest matching prefix entry, else
        the longest suffix entry it ends with after at least MIN_HEAD letters (a compound:
        "anmeldeproblem")."""
        value = self.words.get(word)
        if value is not None:
            return value
        for end in range(len(word), 2, -1):
            value = self.prefixes.get(word[:end])
            if value is not None:
                return value
        if self.suffixes:
            for start in range(MIN_HEAD, len(word) - 2):
                value = self.suffixes.get(word[start:])
                if value is not None:
                    return value
        if len(word) >= TYPO_LETTERS and not self.substring:
            return self._typo(word)
        return None

    def _typo(self, word: str) -> float | None:
        """The valence of the one strong word this one is a slip of the finger away from (a
        letter missing, extra, wrong or two swapped: "horible", "recomend", "amazng"), if
        there is one, or several that agree; nothing for a word of the lists."""
        if self._typos is None:
            self._typos = {}
            for entry, value in self.words.items():
                strong = abs(value) >= TYPO_VALENCE and entry not in self.background
                if strong and len(entry) >= TYPO_LETTERS - 1 and " " not in entry:
                    for key in {entry, *_deletions(entry)}:
                        self._typos.setdefault(key, set()).add(entry)
        if any(word in items for items in self.lists.values()):
            return None
        found: set[str] = set()
        loose = not self.flag("inflected")
        for key in {word, *_deletions(word)}:
            found |= {entry for entry in self._typos.get(key, ()) if _one_slip(word, entry, loose)}
        values = {self.words[entry] for entry in found}
        if not values or (min(values) < 0 < max(values)):
            return None
        return min(values, key=abs)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_slip(typed: str, word: str, loose: bool = True) -> bool:
    """A slip of the finger that seldom makes another word: a doubled letter dropped or
    added ("horible", "usefull", "dissapointed"), two neighbours swapped ("recieve"), or, in
    a long word, one letter missing or extra ("amazng", "disapointing"; not `loose` in
    Polish and Russian, whose endings differ by a letter: "poprawce" is not "poprawcie"). A
    wrong letter is not one: it too often spells another word ("changed" is not "charged")."""
    if typed == word or abs(len(typed) - len(word)) != (len(typed) != len(word)):
        return False
    if len(typed) != len(word):
        short, long = sorted((typed, word), key=len)
        for i in range(len(long)):
            if long[:i] + long[i + 1 :] == short:
                doubled = (i and long[i - 1] == long[i]) or long[i + 1 : i + 2] == long[i]
                if doubled or (loose and len(short) >= LONG_WORD):
                    return True
        return False
    diff = [i for i in range(len(word)) if typed[i] != word[i]]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and typed[diff[0]] == word[diff[1]]
        and typed[diff[1]] == word[diff[0]]
    )


def parse(language: str, text: str) -> Lexicon:
    lexicon = Lexicon(language)
    lists: dict[str, set[str]] = {name: set() for name in LISTS}
    entries: list[tuple[str, float]] = []  # placed once the lists (and flags) are known
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if line.startswith("@"):
            name, _, items = line[1:].partition(" ")
            if name not in lists:
                raise ValueError(f"{language}.txt:{number}: unknown list @{name}")
            lists[name].update(item.replace("_", " ").lower() for item in items.split())
            continue
        term, _, value = line.rpartition(" ")
        try:
            valence = float(value)
        except ValueError as exc:
            raise ValueError(f"{language}.txt:{number}: no valence in {raw!r}") from exc
        entries.append((term.strip().lower().replace("_", " "), valence))
    lexicon.lists = {name: frozenset(items) for name, items in lists.items()}
    lexicon.phrase_lists = {
        name: frozenset(tuple(item.split()) for item in items if " " in item)
        for name, items in lists.items()
    }
    for term, valence in entries:
        if term.endswith("*"):
            lexicon.prefixes[term[:-1]] = valence
        elif term.startswith("*"):
            lexicon.suffixes[term[1:]] = valence
        elif " " in term and not lexicon.substring:
            lexicon.phrases[tuple(term.split())] = valence
        else:
            lexicon.words[term] = valence
    return lexicon


@cache
def load(language: str) -> Lexicon:
    """The lexicon of a supported language (see languages.SUPPORTED), parsed once."""
    path = resources.files("nlp_worker") / "lexicons" / f"{language}.txt"
    lexicon = parse(language, path.read_text(encoding="utf-8"))
    if language in PLAIN:
        add_plain_spellings(lexicon, PLAIN[language])
    if language == "en":
        _add_vader(lexicon)
    return lexicon


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _polish(text: str) -> str:
    return _strip_accents(text.replace("ł", "l").replace("Ł", "L"))


def _german(text: str) -> str:  # "ä" -> "ae" only: "schön" typed "schon" is another word
    return text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")


def _russian(text: str) -> str:
    return text.replace("ё", "е")  # noqa: RUF001 (Cyrillic on purpose)


# How each language is typed without its accents: the lexicon knows both spellings.
PLAIN = {
    "es": _strip_accents, "pt": _strip_accents, "fr": _strip_accents, "it": _strip_accents,
    "nl": _strip_accents, "pl": _polish, "de": _german, "ru": _russian,
}  # fmt: skip


def add_plain_spellings(lexicon: Lexicon, plain: Callable[[str], str]) -> None:
    """Each entry also under its spelling without accents ("déçu" -> "decu", "błąd" ->
    "blad", "всё" -> "все"), unless that spelling is an entry of its own or a short word
    of the lists (Italian "né" is "nor", "ne" is not)."""
    for table in (lexicon.words, lexicon.prefixes, lexicon.suffixes):
        for term, value in list(table.items()):
            table.setdefault(plain(term), value)
    for phrase, value in list(lexicon.phrases.items()):
        lexicon.phrases.setdefault(tuple(plain(word) for word in phrase), value)
    known = set(lexicon.words) | set(lexicon.prefixes)
    for name, items in lexicon.lists.items():
        extra = {plain(item) for item in items if len(plain(item)) > 2} - items - known
        lexicon.lists[name] = items | extra
        phrases = {tuple(item.split()) for item in extra if " " in item}
        lexicon.phrase_lists[name] = lexicon.phrase_lists.get(name, frozenset()) | phrases


def _add_vader(lexicon: Lexicon) -> None:
    """VADER's 7,500 English words under ours: ours win, and words VADER rates that say
    nothing about an app in a review (`@vader_ignore` would be a list; here: valence 0 in
    en.txt) stay at 0."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    for word, valence in SentimentIntensityAnalyzer().lexicon.items():
        if " " in word or word in lexicon.words:
            continue
        if lexicon.valence(word) is None:
            lexicon.words[word] = round(float(valence) * 0.6, 3)  # background: softer
            lexicon.background.add(word)
