"""The learned weighing of text against stars (nlp_worker/weighing.py): the shipped weights
are what training on the project's labelled sets gives, scoring them in plain Python gives
scikit-learn's probabilities, and training never sees the held-out set."""

import pytest

from benchmarks import nlp_quality, train_sentiment
from nlp_worker import weighing
from nlp_worker.analysis import get_analyzer


@pytest.fixture(scope="module")
def training():
    return train_sentiment.training_data()


def test_the_shipped_model_is_what_training_gives(training):
    fresh = train_sentiment.weights_of(*train_sentiment.fit(*training))
    assert train_sentiment.differences(weighing.SentimentModel.load(), fresh) == []


def test_plain_python_scoring_gives_scikit_learns_probabilities(training):
    found, labels = training
    vectorizer, model = train_sentiment.fit(found[::3], labels[::3])
    ours = train_sentiment.weights_of(vectorizer, model)
    theirs = model.predict_proba(vectorizer.transform(found))
    for row, expected in zip(found, theirs, strict=True):
        chances = ours.probabilities(row)
        assert [chances[label] for label in model.classes_] == pytest.approx(expected, abs=1e-9)


def test_training_never_reads_the_held_out_set(monkeypatch):
    assert set(train_sentiment.TRAINING).isdisjoint(nlp_quality.HELD_OUT)
    assert set(train_sentiment.TRAINING) | set(nlp_quality.HELD_OUT) == set(nlp_quality.SETS)
    assert set(train_sentiment.RETIRED) <= set(train_sentiment.TRAINING)
    read = []

    def load(name, limit=None):
        assert name not in nlp_quality.HELD_OUT, f"training read {name}"
        read.append(name)
        return nlp_quality.load(name, limit)

    monkeypatch.setattr(train_sentiment, "load", load)
    found, labels = train_sentiment.training_data()
    assert set(read) == set(train_sentiment.TRAINING) and len(found) == len(labels)
    about = weighing.MODEL.read_text(encoding="utf-8").splitlines()[0]  # what it was trained on
    assert all(f'"{name}"' in about for name in train_sentiment.TRAINING)
    assert all(f'"{name}"' not in about for name in nlp_quality.HELD_OUT)


def test_the_label_is_the_likeliest_and_the_compound_their_difference():
    analyzer = get_analyzer()
    for text, stars in (("Love it", 5), ("Crashes all the time", 1), ("It's okay", 3)):
        found = analyzer.weighed(text, stars)
        chances = analyzer.model.probabilities(found)
        sentiment = analyzer.analyze_text(text, stars)["sentiment"]
        assert sentiment["label"] == max(chances, key=chances.__getitem__)
        assert sentiment["compound"] == round(chances["positive"] - chances["negative"], 4)
        assert found[f"stars_{stars}"] == 1.0


def test_unknown_features_count_for_nothing():
    model = weighing.SentimentModel(("negative", "neutral", "positive"), (0.0, 1.0, 0.0), {})
    chances = model.probabilities({"w:never-seen": 1.0})
    assert max(chances, key=chances.__getitem__) == "neutral"
    assert sum(chances.values()) == pytest.approx(1.0)
