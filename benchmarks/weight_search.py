"""Grid search over late-fusion weights: skfusion with ``memory`` against
scikit-learn's ``VotingClassifier`` over the same members.

20 weight vectors x 5 folds on 4,000 bundled reviews, then on 5,000 (the
demo's size), one table each. Both searches see the
same members (a TF-IDF + logistic-regression text member, a gradient-boosting
tabular member); VotingClassifier gets them as column-selecting pipelines.
``VotingClassifier`` refits both members for every candidate and fold (100)
plus the final refit: 101 fits of each member. LateFusionClassifier with
``memory`` fits each member once per fold plus the refit (6) and reads every
prediction it scores from the cache, so the speed-up is bounded by about
101 / 6 = 17x. Both searches also pay GridSearchCV's own work for each of
the 100 candidates (clone, split, score: about 4 ms each); it is lost in the
scikit-learn search's time and is a tenth of skfusion's. The last lines
measure it, and the members' own work outside any search (6 fits of each,
5 predictions), and print the speed-up reachable with both counted:
scikit-learn's time over their sum, about 15x on 2 cores.

Run: ``python benchmarks/weight_search.py`` (prints a table and the machine).
``--baseline DIR`` adds runs of the skfusion search importing skfusion from
DIR (another checkout, e.g. ``git worktree add DIR <commit>``), alternating
with the others, so a change to the cache is timed against the code before
it in one run.
It takes about 10 minutes on 2 cores (both sizes), where HistGradientBoosting
uses both cores by default; about 6 minutes with ``OMP_NUM_THREADS=1``.

Measured at the end of a session, the machine quiet (load 0.5, x86_64, 2
cores, HistGradientBoosting on both): 4,000 reviews, VotingClassifier
73.99 s, skfusion 5.37 s, members 4.28 s, GridSearchCV's own 0.60 s: 13.8x
of a reachable 15.2x (91%); 5,000 reviews, 86.65 s, 5.88 s, 5.14 s, 0.64 s:
14.7x of 15.0x (98%).

How it is timed. Each search runs in a fresh Python process (nothing warmed
up or cached in memory by an earlier search), and the runs alternate:
skfusion, scikit-learn, members alone, GridSearchCV alone, skfusion, ...
``--repeats`` times. As ``timeit`` does, the speed-up takes each search's
fastest run: other processes on the machine only ever add time, and they
add far more to one 3 to 5 s skfusion search than to one 40 to 70 s
scikit-learn search, which averages their bursts out. The ratio of the
median runs is printed beside it, with every reading, and CPU time (which
another process's load does not change).
"""

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import sklearn
from threadpoolctl import threadpool_info
from sklearn.compose import make_column_transformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from skfusion import LateFusionClassifier
from skfusion.datasets import load_clothing_reviews

TEXT = "Review Text"
CATEGORICAL = ["Division Name", "Department Name", "Class Name"]
NUMERIC = ["Age", "Positive Feedback Count"]
TABULAR = CATEGORICAL + NUMERIC


def text_model():
    return make_pipeline(
        TfidfVectorizer(min_df=2, ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(C=4.0, max_iter=1000),
    )


def tabular_model():
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
    )
    return make_pipeline(
        make_column_transformer((encoder, CATEGORICAL), ("passthrough", NUMERIC)),
        HistGradientBoostingClassifier(
            categorical_features=[0, 1, 2], max_iter=100, random_state=0
        ),
    )


def select(columns):
    """A column-selecting first step, so VotingClassifier members see what ours see."""
    return make_column_transformer(
        ("passthrough", columns), verbose_feature_names_out=False
    ).set_output(transform="pandas")


def select_text():
    """TF-IDF of the text column inside a ColumnTransformer (a string column
    spec hands the vectorizer a 1-D column, as our text member gets)."""
    return make_column_transformer((text_model().steps[0][1], TEXT))


def make_search(kind, cache, cv, grid):
    """The grid search of one side: ``"sklearn"`` or ``"skfusion"``; or
    ``"floor"``: the same search over members that learn nothing, which
    times GridSearchCV's own work (clone, split, score) for 100 candidates."""
    if kind == "floor":
        estimator = VotingClassifier(
            [("text", DummyClassifier()), ("tab", DummyClassifier())], voting="soft"
        )
    elif kind == "sklearn":
        estimator = VotingClassifier(
            [
                ("text", make_pipeline(select_text(), *[step for _, step in text_model().steps[1:]])),
                ("tab", make_pipeline(select(TABULAR), tabular_model())),
            ],
            voting="soft",
        )
    else:
        estimator = LateFusionClassifier(
            [("text", text_model(), TEXT), ("tab", tabular_model(), TABULAR)],
            memory=cache,
        )
    return GridSearchCV(estimator, grid, cv=cv, scoring="neg_log_loss")


def load(n_samples):
    X, y = load_clothing_reviews(return_X_y=True)
    has_text = X[TEXT].notna()
    return X[has_text].iloc[:n_samples], y[has_text].iloc[:n_samples]


def timed_members(n_samples, folds):
    """The work no weight search can skip, run in a worker process: each
    member fitted once per fold and once on every row, and each fold's test
    rows predicted once; no search around it. Returns (wall s, CPU s)."""
    X, y = load(n_samples)
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    splits = [*cv.split(X, y), (np.arange(len(y)), None)]
    wall, cpu = time.perf_counter(), time.process_time()
    for train, test in splits:
        for model, columns in ((text_model(), TEXT), (tabular_model(), TABULAR)):
            model.fit(X[columns].iloc[train], y.iloc[train])
            if test is not None:
                model.predict_proba(X[columns].iloc[test])
    return time.perf_counter() - wall, time.process_time() - cpu


def timed_search(kind, n_samples, n_weights, folds):
    """One search, run in a worker process: (wall s, CPU s, CV scores, best
    weights, best score)."""
    X, y = load(n_samples)
    grid = {"weights": [[w, 1 - w] for w in np.linspace(0.05, 0.95, n_weights)]}
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    with tempfile.TemporaryDirectory() as cache:
        search = make_search(kind, cache, cv, grid)
        wall, cpu = time.perf_counter(), time.process_time()
        search.fit(X, y)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    best = np.round(search.best_params_["weights"], 3).tolist()
    return wall, cpu, search.cv_results_["mean_test_score"], best, search.best_score_


def in_baseline_process(baseline, n_samples, n_weights, folds):
    """The skfusion search in a new Python process that imports skfusion
    from ``baseline``; (wall s, CPU s, CV scores, best weights, best score)."""
    env = {**os.environ, "PYTHONPATH": os.path.abspath(baseline)}
    command = [sys.executable, __file__, "--one-search",
               json.dumps([n_samples, n_weights, folds])]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    wall, cpu, scores, best, score, origin = json.loads(out.splitlines()[-1])
    if not origin.startswith(os.path.abspath(baseline)):
        raise RuntimeError(f"the baseline search imported skfusion from {origin}")
    return wall, cpu, np.asarray(scores), best, score


def one_search(spec):
    """``--one-search``: the skfusion search, its result as a JSON line."""
    import skfusion

    wall, cpu, scores, best, score = timed_search("skfusion", *json.loads(spec))
    print(json.dumps([wall, cpu, scores.tolist(), best, score, skfusion.__file__]))


def in_fresh_process(function, *args):
    """``function(*args)`` in a new Python process, which exits after it."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=1) as pool:
        return pool.submit(function, *args).result()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, nargs="+", default=[4000, 5000],
                        help="reviews with text, one table per size, in one run (default "
                             "4000, and the demo's 5000)")
    parser.add_argument("--n-weights", type=int, default=20)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each search, alternating (default 3)")
    parser.add_argument("--baseline", metavar="DIR",
                        help="also time the skfusion search with skfusion imported from DIR")
    parser.add_argument("--cache-only", action="store_true",
                        help="with --baseline: time only the two skfusion searches "
                             "(many repeats fit in the time of one scikit-learn search)")
    parser.add_argument("--one-search", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_search:
        one_search(args.one_search)
        return

    if args.cache_only and not args.baseline:
        parser.error("--cache-only compares with --baseline DIR")
    for n_samples in args.n_samples:
        measure(args, n_samples)


def measure(args, n_samples):
    """The searches at one size, alternating, and their table."""
    names = {"sklearn": "sklearn VotingClassifier",
             "skfusion": "skfusion LateFusionClassifier(memory=)"}
    if args.baseline:
        names["baseline"] = f"  the same, skfusion from {os.path.basename(args.baseline.rstrip('/'))}"
    if args.cache_only:
        del names["sklearn"]
    runs = {kind: [] for kind in (*names, *(() if args.cache_only else ("members", "floor")))}
    for _ in range(args.repeats):
        for kind in runs:
            if kind == "members":
                run = in_fresh_process(timed_members, n_samples, args.folds)
            elif kind == "baseline":
                run = in_baseline_process(args.baseline, n_samples, args.n_weights, args.folds)
            else:
                run = in_fresh_process(timed_search, kind, n_samples, args.n_weights, args.folds)
            runs[kind].append(run)

    n_candidates, n_rows = args.n_weights, len(load(n_samples)[0])
    openmp = sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"})
    limit = (n_candidates * args.folds + 1) / (args.folds + 1)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, scikit-learn {sklearn.__version__}, "
          f"OpenMP threads {openmp}")
    print(f"\ndata: {n_rows} reviews with text; {n_candidates} weight vectors x "
          f"{args.folds} folds, scoring=neg_log_loss; each search in a fresh process, "
          f"{args.repeats} runs each, alternating\n")
    print(f"{'search':<40}{'wall s (each run)':>24}{'fastest':>8}{'median':>8}"
          f"{'CPU s':>8}{'best weights':>15}{'best score':>12}")
    fastest, medians = {}, {}
    for kind, name in names.items():
        walls, cpus = [run[0] for run in runs[kind]], [run[1] for run in runs[kind]]
        fastest[kind] = (min(walls), min(cpus))
        medians[kind] = (np.median(walls), np.median(cpus))
        _, _, _, best, score = runs[kind][0]
        each = " ".join(f"{w:.2f}" for w in walls)
        print(f"{name:<40}{each:>24}{fastest[kind][0]:>8.2f}{medians[kind][0]:>8.2f}"
              f"{fastest[kind][1]:>8.2f}{str(best):>15}{score:>12.6f}")

    scores = [run[2] for kind in names for run in runs[kind]]
    diff = max(np.abs(s - scores[0]).max() for s in scores)
    bests = {str(run[3]) for kind in names for run in runs[kind]}
    print(f"\nmax |CV score difference| over all candidates and runs: {diff:.2e}")
    print(f"same best weights in every run: {len(bests) == 1}")

    if args.baseline:
        for label, times in (("fastest", fastest), ("median", medians)):
            change = times["skfusion"][0] / times["baseline"][0] - 1
            print(f"skfusion search against the baseline ({label} runs): "
                  f"{times['skfusion'][0]:.2f} s / {times['baseline'][0]:.2f} s = {change:+.1%}")
    if args.cache_only:
        return
    # fastest of each, as for the searches
    members = min(run[0] for run in runs["members"])
    floor = min(run[0] for run in runs["floor"])

    def ratio(times, i):
        return times["sklearn"][i] / times["skfusion"][i]

    print(f"speed-up: {ratio(fastest, 0):.1f}x (fastest runs; median runs "
          f"{ratio(medians, 0):.1f}x; CPU time {ratio(fastest, 1):.1f}x), limit "
          f"~{limit:.1f}x: {n_candidates * args.folds + 1} member fits against {args.folds + 1}")
    print(f"GridSearchCV's own work in either search (clone, split and score "
          f"{n_candidates * args.folds} candidate fits, members that learn nothing): {floor:.2f} s")
    print(f"the members' own work, which no search can skip ({args.folds + 1} fits of "
          f"each member, {args.folds} predictions), outside any search: {members:.2f} s")
    reachable = fastest["sklearn"][0] / (members + floor)
    print(f"reachable speed-up with GridSearchCV's own work counted: "
          f"{fastest['sklearn'][0]:.2f} / ({members:.2f} + {floor:.2f}) = {reachable:.1f}x; "
          f"skfusion reaches {ratio(fastest, 0) / reachable:.0%} of it "
          f"(its own work: {fastest['skfusion'][0] - members - floor:+.2f} s)")


if __name__ == "__main__":
    main()
