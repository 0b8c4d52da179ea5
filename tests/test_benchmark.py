"""The NLP quality benchmark: its labelled sets are well formed and its script runs (on a
slice: the figures it prints are not asserted here, speed least of all)."""

import re
from collections import Counter

import pytest

from benchmarks import nlp_quality
from nlp_worker.languages import SUPPORTED
from tests.serving import run_python

TRAINING = [name for name in nlp_quality.SETS if name not in nlp_quality.HELD_OUT]


# the held-out set is left out on purpose: only the final measurement reads it
@pytest.mark.parametrize("name", TRAINING)
def test_the_labelled_sets_are_well_formed(name):
    items = nlp_quality.load(name)
    assert {item.label for item in items} == set(nlp_quality.LABELS)
    assert all(1 <= item.score <= 5 and item.text.strip() for item in items)
    languages = Counter(item.lang for item in items)
    assert set(languages) <= set(SUPPORTED)
    assert len(languages) >= 9  # English and at least eight others
    disagree = [item for item in items if nlp_quality.stars_label(item.score) != item.label]
    assert len(disagree) >= len(items) // 10  # stars and text disagree on some


def test_the_sets_do_not_share_reviews():
    # (one-word reviews such as "Super" may come up in two)
    texts = {
        name: {item.text for item in nlp_quality.load(name) if " " in item.text}
        for name in ("dev", "test", "validation", "probe")
    }
    assert not texts["dev"] & texts["test"]
    assert not texts["validation"] & (texts["dev"] | texts["test"])
    assert not texts["probe"] & (texts["dev"] | texts["test"] | texts["validation"])


def test_the_default_set_is_the_holdout():
    # only the arguments: tests never load the held-out set
    assert nlp_quality.arguments([]).set == nlp_quality.HELD_OUT[0]
    assert nlp_quality.arguments(["--set", "validation"]).set == "validation"


def test_macro_f1():
    gold = ["positive", "negative", "neutral", "positive"]
    assert nlp_quality.macro_f1(gold, gold) == 1.0
    assert nlp_quality.macro_f1(gold, ["negative", "positive", "neutral", "negative"]) == 1 / 3


def test_the_script_runs_on_a_slice():
    result = run_python(
        "-m", "benchmarks.nlp_quality", "--set", "dev", "--limit", "30", timeout=180
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"sentiment macro-F1, English .*: \d\.\d{3}\s+stars alone: \d\.\d{3}", out)
    assert re.search(r"sentiment macro-F1, other .*: \d\.\d{3}\s+stars alone: \d\.\d{3}", out)
    assert re.search(r"language accuracy, 20\+ chars .*: \d\.\d{3}\s+langdetect: \d\.\d{3}", out)
    assert re.search(r"speed: [\d,]+ reviews per CPU second", out)


def test_the_embedded_store_benchmark_runs():
    done = run_python(
        "-m", "benchmarks.embedded_store", "--sizes", "50", "--claims", "2", timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"^\s+50\s+[\d.]+\s+[\d.]+$", done.stdout, re.M), done.stdout
