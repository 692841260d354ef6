"""
================================================
Hybrid fusion: early fusion inside a late fusion
================================================

An early-fusion Keras model as one member of a late fusion.

Three real labels per review, predicted together (multi-label):

* ``recommended`` - the reviewer recommends the item (``Recommended IND``),
* ``five_stars``  - the review gives five stars (``Rating == 5``),
* ``helpful``     - other shoppers found the review helpful
  (``Positive Feedback Count > 0``).

The model combines features early and predictions late:

* ``early``: an :class:`~skfusion.EarlyFusionClassifier` that encodes the
  review and its title (TF-IDF, each projected to 64 components) and the
  reviewer & product columns, scales each block, and feeds them to a
  :class:`~skfusion.keras.KerasMLPClassifier` with one sigmoid per label
  (binary cross-entropy);
* ``tabular``: gradient boosting on the reviewer & product columns alone,
  one model per label;

and a :class:`~skfusion.LateFusionClassifier` fuses their label
probabilities. ``GridSearchCV`` tunes the Keras head's layers through the
nested parameter ``early__classifier__hidden_layers`` together with the
members' weights (equal, or learned from out-of-fold predictions);
``memory=`` keeps the member fits, so a candidate that only changes the
weights refits no member. It prints the search and per-label precision, recall and F1 on
held-out reviews, next to each member alone.

Run as a script: ``python examples/plot_hybrid_fusion.py`` (``--n-samples``
``--epochs`` and ``--cv`` make it larger: ``--n-samples 3000 --epochs 10
--cv 3`` takes about two minutes on 2 cores).
"""

# %%
# Data and the two members
# ------------------------
# The text blocks fill missing reviews and titles with empty strings
# before TF-IDF.

import argparse
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import classification_report, f1_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skfusion import EarlyFusionClassifier, LateFusionClassifier
from skfusion.datasets import load_clothing_reviews
from skfusion.encoders import TabularEncoder
from skfusion.keras import KerasMLPClassifier

TABULAR = ["Age", "Division Name", "Department Name", "Class Name"]
LABELS = ["recommended", "five_stars", "helpful"]


def fill_empty(texts):
    return texts.fillna("")


def text_block():
    return make_pipeline(
        FunctionTransformer(fill_empty),
        TfidfVectorizer(min_df=3, ngram_range=(1, 2), sublinear_tf=True),
    )


def load(n_samples):
    frame = load_clothing_reviews(as_frame=True).frame
    Y = pd.DataFrame({
        "recommended": frame["Recommended IND"],
        "five_stars": (frame["Rating"] == 5).astype(int),
        "helpful": (frame["Positive Feedback Count"] > 0).astype(int),
    })
    X = frame[["Review Text", "Title", *TABULAR]]
    X_train, X_test, Y_train, Y_test = train_test_split(
        X, Y, train_size=n_samples, test_size=n_samples // 2, random_state=0
    )
    return X_train, X_test, Y_train.to_numpy(), Y_test.to_numpy()


# %%
parser = argparse.ArgumentParser(description="Hybrid fusion: early fusion inside a late fusion")
parser.add_argument("--n-samples", type=int, default=600, help="training reviews (default 600)")
parser.add_argument("--epochs", type=int, default=5, help="Keras epochs (default 5)")
parser.add_argument("--cv", type=int, default=2,
                    help="folds of the search and of the learned weights (default 2)")
args = parser.parse_args()

X_train, X_test, Y_train, Y_test = load(args.n_samples)
print(f"{len(X_train):,} training and {len(X_test):,} held-out reviews; labels "
      f"{LABELS}, positive rates {np.round(Y_train.mean(axis=0), 2).tolist()}")

early = EarlyFusionClassifier(
    [
        ("review", text_block(), "Review Text"),
        ("title", text_block(), "Title"),
        ("tabular", TabularEncoder(), TABULAR),
    ],
    KerasMLPClassifier(hidden_layers=(64,), dropout=0.2, epochs=args.epochs,
                       batch_size=64, random_state=0),
    projection=64,
)
tabular = make_pipeline(
    TabularEncoder(scale=None),
    OneVsRestClassifier(HistGradientBoostingClassifier(max_iter=50, random_state=0)),
)

# %%
# The search
# ----------
# The late fusion's members are cached in a temporary directory
# (``memory=``): a candidate that only changes the weights refits no member.
# Each candidate with learned weights also fits the members in ``--cv``
# folds inside each of the search's folds; two of each keep the gallery
# quick.
cache = tempfile.TemporaryDirectory()
hybrid = LateFusionClassifier(
    [("early", early), ("tabular", tabular, TABULAR)], cv=args.cv, memory=cache.name
)
search = GridSearchCV(
    hybrid,
    {
        "early__classifier__hidden_layers": [(64,), (128, 32)],
        "weights": [None, "auto"],
    },
    scoring="f1_macro",
    cv=args.cv,
)
start = time.perf_counter()
search.fit(X_train, Y_train)
print(f"GridSearchCV over {len(search.cv_results_['params'])} candidates x {args.cv} folds "
      f"in {time.perf_counter() - start:.0f} s (macro-F1):")
for params, mean, std in zip(
    search.cv_results_["params"],
    search.cv_results_["mean_test_score"],
    search.cv_results_["std_test_score"],
):
    print(f"  {params}: {mean:.4f} +/- {std:.4f}")
print(f"best: {search.best_params_}")

# %%
# Held out
# --------
# The best hybrid's per-label scores, then each of its members alone, and
# the weights the fusion gives them.
best = search.best_estimator_
predicted = best.predict(X_test)
print("held out, the hybrid model:")
print(classification_report(Y_test, predicted, target_names=LABELS, zero_division=0))
f1 = {"hybrid": f1_score(Y_test, predicted, average=None, zero_division=0)}
for name, member in best.named_estimators_.items():
    pred = member.predict(X_test[TABULAR] if name == "tabular" else X_test)
    f1[f"{name} member alone"] = f1_score(Y_test, pred, average=None, zero_division=0)
    print(f"held out, {name} member alone: macro-F1 "
          f"{f1_score(Y_test, pred, average='macro', zero_division=0):.4f}")
print(f"member weights (early, tabular): {np.round(best.weights_, 3).tolist()}")
cache.cleanup()

fig, ax = plt.subplots(figsize=(6, 3.5))
pd.DataFrame(f1, index=LABELS).plot.bar(ax=ax, rot=0)
ax.set_ylabel("F1, held-out reviews")
fig.tight_layout()

plt.show()
