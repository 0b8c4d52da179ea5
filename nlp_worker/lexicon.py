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
"every time": a complaint in their clause weighs more), `function` (what an app should do:
"open", "load", "lädt"; negated, a failure), `intensifiers` (boost what follows),
`stopwords` (not themes or keywords).
Scripts without spaces (Japanese, Chinese) are matched by substring (`substring` flag).
"""

from __future__ import annotations

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
    "neutral",
    "frequent",
    "function",
    "intensifiers",
    "stopwords",
    "flags",
)
MAX_PHRASE_WORDS = 5
MIN_HEAD = 3  # letters before a suffix entry: "*fehler" matches "ladefehler", not "fehler"


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

    @property
    def substring(self) -> bool:
        return "substring" in self.lists.get("flags", frozenset())

    def has(self, name: str, word: str) -> bool:
        return word in self.lists.get(name, frozenset())

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
        return None


def parse(language: str, text: str) -> Lexicon:
    lexicon = Lexicon(language)
    lists: dict[str, set[str]] = {name: set() for name in LISTS}
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
        term = term.strip().lower().replace("_", " ")
        if term.endswith("*"):
            lexicon.prefixes[term[:-1]] = valence
        elif term.startswith("*"):
            lexicon.suffixes[term[1:]] = valence
        elif " " in term and not _is_substring(lists):
            lexicon.phrases[tuple(term.split())] = valence
        else:
            lexicon.words[term] = valence
    lexicon.lists = {name: frozenset(items) for name, items in lists.items()}
    lexicon.phrase_lists = {
        name: frozenset(tuple(item.split()) for item in items if " " in item)
        for name, items in lists.items()
    }
    return lexicon


def _is_substring(lists: dict[str, set[str]]) -> bool:
    return "substring" in lists["flags"]


@cache
def load(language: str) -> Lexicon:
    """The lexicon of a supported language (see languages.SUPPORTED), parsed once."""
    path = resources.files("nlp_worker") / "lexicons" / f"{language}.txt"
    lexicon = parse(language, path.read_text(encoding="utf-8"))
    if language == "en":
        _add_vader(lexicon)
    return lexicon


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
