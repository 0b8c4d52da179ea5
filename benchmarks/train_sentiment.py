"""Train the weighing of text against stars (nlp_worker/weighing.py) on the labelled sets.

    .venv/bin/python -m benchmarks.train_sentiment           # nlp_worker/models/sentiment.json
    .venv/bin/python -m benchmarks.train_sentiment --check   # exit 1 if the shipped one differs
    .venv/bin/python -m benchmarks.train_sentiment --cv      # cross-validated, writes nothing
    .venv/bin/python -m benchmarks.train_sentiment --cv --without SET ...  # those not trained on
    .venv/bin/python -m benchmarks.train_sentiment --unseen SET ...  # trained without them

It trains on every set in TRAINING and never reads the sets in nlp_quality.HELD_OUT. `--cv`
says how well the method does on reviews it was not trained on, before there is a held-out
set to ask: five folds of the retired held-out sets (RETIRED) together, three shuffles,
each fold's model trained on the other sets and the other folds; it prints the macro-F1
for English and the other languages beside the stars alone. `--unseen` labels whole sets by
a model trained without them: how it does on writers it has never read. Needs scikit-learn
(a dev dependency); the service and the workers do not.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence

from benchmarks.nlp_quality import (
    HELD_OUT,
    SETS,
    Item,
    f1_line,
    halves,
    load,
    macro_f1,
    sentiment_lines,
    stars_label,
)
from nlp_worker import weighing

TRAINING = tuple(name for name in SETS if name not in HELD_OUT)
RETIRED = ("holdout", "holdout2", "holdout3", "holdout4", "holdout5")  # held out to round 7
# scikit-learn's C, chosen by round 4's --cv (on holdout and holdout2) among 1, 3, 10 and 30;
# in round 6 (four retired sets, before the short set) C=1, 3 and 10 were within 0.004 of each other
REGULARIZATION = 3.0
FOLDS = 5
SHUFFLES = (0, 1, 2)
TOLERANCE = 1e-4


def featurize(items: Sequence[Item]) -> list[dict[str, float]]:
    """Each review's features, exactly as nlp_worker scores it (language, tokens, reading);
    they do not depend on the model, so an untrained one reads them."""
    from nlp_worker.analysis import Analyzer

    untrained = weighing.SentimentModel(("negative", "neutral", "positive"), (0.0, 0.0, 0.0), {})
    analyzer = Analyzer(untrained)
    return [analyzer.weighed(item.text, item.score) for item in items]


def fit(found: list[dict[str, float]], labels: list[str], strength: float = REGULARIZATION):
    """(vectorizer, scikit-learn model), trained on these features and labels; words found in
    fewer than MIN_REVIEWS reviews left out."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    common = Counter(name for row in found for name in row if name.startswith(weighing.WORD))
    kept = [
        {
            name: value
            for name, value in row.items()
            if not name.startswith(weighing.WORD) or common[name] >= weighing.MIN_REVIEWS
        }
        for row in found
    ]
    vectorizer = DictVectorizer(sort=True)
    matrix = vectorizer.fit_transform(kept)
    model = LogisticRegression(C=strength, max_iter=10_000, tol=1e-8).fit(matrix, labels)
    return vectorizer, model


def weights_of(vectorizer, model) -> weighing.SentimentModel:
    names = vectorizer.get_feature_names_out()
    return weighing.SentimentModel(
        tuple(str(label) for label in model.classes_),
        tuple(float(value) for value in model.intercept_),
        {str(name): tuple(float(c) for c in model.coef_[:, n]) for n, name in enumerate(names)},
    )


def training_data() -> tuple[list[dict[str, float]], list[str]]:
    items = [item for name in TRAINING for item in load(name)]
    return featurize(items), [item.label for item in items]


def trained() -> weighing.SentimentModel:
    return weights_of(*fit(*training_data()))


def differences(shipped: weighing.SentimentModel, fresh: weighing.SentimentModel) -> list[str]:
    """What differs beyond rounding (TOLERANCE): training on another machine may move the
    last digits."""
    found = []
    if shipped.labels != fresh.labels:
        found.append(f"labels {shipped.labels} != {fresh.labels}")
    if set(shipped.weights) != set(fresh.weights):
        found.append(f"features differ: {sorted(set(shipped.weights) ^ set(fresh.weights))[:5]}")
    pairs = [("intercepts", shipped.intercepts, fresh.intercepts)] + [
        (name, row, fresh.weights[name])
        for name, row in shipped.weights.items()
        if name in fresh.weights
    ]
    for name, old, new in pairs:
        if any(abs(a - b) > TOLERANCE for a, b in zip(old, new, strict=True)):
            found.append(f"{name}: {old} != {new}")
    return found


def model_text(model: weighing.SentimentModel) -> str:
    about = {
        "trained_on": {name: len(load(name)) for name in TRAINING},
        "regularization": REGULARIZATION,
        "word_weight": weighing.WORD_WEIGHT,
        "min_reviews": weighing.MIN_REVIEWS,
        "by": "python -m benchmarks.train_sentiment",
    }
    weights = {name: list(row) for name, row in model.weights.items()}
    return weighing.as_json(list(model.labels), list(model.intercepts), weights, about)


def cross_validate(strength: float = REGULARIZATION, without: Sequence[str] = ()) -> list[str]:
    """The --cv figures, the sets in `without` left out of every fold's training."""
    from sklearn.model_selection import StratifiedKFold

    kept = [name for name in TRAINING if name not in RETIRED and name not in without]
    tuning = [item for name in kept for item in load(name)]
    retired = [item for name in RETIRED for item in load(name)]
    tuning_found, retired_found = featurize(tuning), featurize(retired)
    gold = [item.label for item in retired]
    parts = halves(retired)
    totals = {title: 0.0 for title, _ in parts}
    for seed in SHUFFLES:
        predicted = [""] * len(retired)
        folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
        for train, test in folds.split(retired, gold):
            found = tuning_found + [retired_found[n] for n in train]
            labels = [item.label for item in tuning] + [gold[n] for n in train]
            model = weights_of(*fit(found, labels, strength))
            for n in test:
                predicted[n] = weighing.likeliest(model.probabilities(retired_found[n]))
        for title, chosen in parts:
            totals[title] += macro_f1([gold[n] for n in chosen], [predicted[n] for n in chosen])
    lines = [f"{FOLDS}-fold cross-validation on {', '.join(RETIRED)}, C={strength:g}"]
    if without:
        lines[0] += f", trained without {', '.join(without)}"
    for title, chosen in parts:
        stars = macro_f1([gold[n] for n in chosen], [stars_label(retired[n].score) for n in chosen])
        lines.append(f1_line(title, len(chosen), totals[title] / len(SHUFFLES), stars))
    return lines


def unseen(names: Sequence[str]) -> list[str]:
    """Each set in `names` labelled by a model trained on the other training sets: how the
    method does on writers it was not trained on, before they are trained on."""
    rest = [item for name in TRAINING if name not in names for item in load(name)]
    model = weights_of(*fit(featurize(rest), [item.label for item in rest]))
    lines = [f"trained without {', '.join(names)}, C={REGULARIZATION:g}"]
    for name in names:
        items = load(name)
        predicted = [weighing.likeliest(model.probabilities(x)) for x in featurize(items)]
        lines.append(name)
        lines.extend("  " + line for line in sentiment_lines(items, predicted))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped file")
    parser.add_argument("--cv", action="store_true", help="cross-validated figures only")
    parser.add_argument("-C", type=float, default=REGULARIZATION, help="for --cv")
    parser.add_argument(
        "--without", nargs="+", default=(), metavar="SET",
        choices=[name for name in TRAINING if name not in RETIRED],
        help="for --cv: leave these sets out of its training",
    )  # fmt: skip
    parser.add_argument(
        "--unseen", nargs="+", choices=TRAINING, metavar="SET",
        help="train without these sets and label them; writes nothing",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.cv:
        print("\n".join(cross_validate(args.C, args.without)))
        return 0
    if args.unseen:
        print("\n".join(unseen(args.unseen)))
        return 0
    model = trained()
    if args.check:
        found = differences(weighing.SentimentModel.load(), model)
        print("\n".join(found[:10]) or "the shipped model is what training gives")
        return 1 if found else 0
    text = model_text(model)
    weighing.MODEL.parent.mkdir(exist_ok=True)
    weighing.MODEL.write_text(text, encoding="utf-8")
    print(f"wrote {weighing.MODEL} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
