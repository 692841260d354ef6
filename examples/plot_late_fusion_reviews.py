"""
=====================================================
Late fusion with learned weights, tuned without refit
=====================================================

A text member (TF-IDF + logistic regression on the review) and a tabular
member (gradient boosting on the star rating and product columns) vote on
whether a reviewer recommends the item, in the bundled clothing reviews.
This example

1. learns the member weights from out-of-fold predictions
   (``weights="auto"``) and compares them with equal weights,
2. grid-searches weights and combiner with ``memory=``, so each member is
   fitted once per fold whatever the number of candidates,
3. predicts the reviews that have no text from the tabular member alone
   (``missing="renormalize"``).

Run as a script: ``python examples/plot_late_fusion_reviews.py``
(``--n-samples`` sets the number of training reviews; half as many are
held out).
"""

# %%
# The data and the two members
# ----------------------------
# :func:`~skfusion.datasets.load_clothing_reviews` returns the 23,486
# reviews and the ``Recommended IND`` target. The two members come from
# :mod:`skfusion.datasets.clothing_reviews`: ``text_model()`` reads the
# review text, ``tabular_model(...)`` the product columns and the rating.
import argparse
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split

from skfusion import LateFusionClassifier
from skfusion.datasets import load_clothing_reviews
from skfusion.datasets.clothing_reviews import CATEGORICAL, NUMERIC, TEXT, tabular_model, text_model

parser = argparse.ArgumentParser(description="Late fusion with learned weights")
parser.add_argument("--n-samples", type=int, default=6000,
                    help="training reviews (default 6000); half as many are held out")
args = parser.parse_args()

X, y = load_clothing_reviews(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=args.n_samples, test_size=args.n_samples // 2, stratify=y, random_state=0
)
tabular = CATEGORICAL + NUMERIC + ["Rating"]
print(f"{len(X_train):,} training and {len(X_test):,} held-out reviews, "
      f"{y_train.mean():.0%} recommended")

# %%
# Learned weights
# ---------------
# With ``weights="auto"`` and the default ``scoring=None``, the fusion fits
# each member in a cross-validation, then picks the weights on the simplex
# that minimise the log loss of the fused out-of-fold probabilities;
# ``weight_selection_`` says how the weights came about. ``memory=`` keeps
# every member fit (a temporary directory here) for the grid search below.
cache = tempfile.TemporaryDirectory()
fusion = LateFusionClassifier(
    [("text", text_model(), TEXT), ("tab", tabular_model(NUMERIC + ["Rating"]), tabular)],
    weights="auto",
    missing="renormalize",
    memory=cache.name,
).fit(X_train, y_train)
print("learned weights (text, tab):", np.round(fusion.weights_, 3).tolist())
print("weight_selection_:", fusion.weight_selection_)

# %%
# The learned weights against equal weights, on the held-out reviews. The
# rating makes the tabular member the stronger one, and the learned weights
# lean towards it.
equal = LateFusionClassifier(
    [("text", text_model(), TEXT), ("tab", tabular_model(NUMERIC + ["Rating"]), tabular)],
    missing="renormalize",
    memory=cache.name,
).fit(X_train, y_train)
rows = {}
for name, model in [("learned weights", fusion), ("equal weights", equal)]:
    proba = model.predict_proba(X_test)[:, 1]
    rows[name] = {"text weight": model.weights_[0], "tab weight": model.weights_[1],
                  "log loss": log_loss(y_test, proba), "ROC AUC": roc_auc_score(y_test, proba)}
for name, member in fusion.named_estimators_.items():
    cols = TEXT if name == "text" else tabular
    seen = X_test[TEXT].notna() if name == "text" else np.ones(len(X_test), bool)
    proba = member.predict_proba(X_test.loc[seen, cols])[:, 1]
    rows[f"{name} member alone"] = {"log loss": log_loss(y_test[seen], proba),
                                    "ROC AUC": roc_auc_score(y_test[seen], proba)}
scores = pd.DataFrame(rows).T
print(scores.round(4).to_string(na_rep="-"))

fig, ax = plt.subplots(figsize=(6, 3))
scores.loc[["equal weights", "learned weights"], ["text weight", "tab weight"]].T.plot.bar(
    ax=ax, rot=0)
ax.set_ylabel("weight")
ax.set_title("Member weights: learned out of fold vs equal")
fig.tight_layout()

# %%
# Grid search over the weights, without refitting a member
# --------------------------------------------------------
# Every candidate of this grid changes only the weights or the combiner,
# so with ``memory=`` each member is fitted once per fold and the search
# costs little more than one cross-validation of the members.
grid = {
    "weights": [[w / 10, 1 - w / 10] for w in range(1, 10)],
    "combiner": ["mean", "geometric"],
}
start = time.perf_counter()
search = GridSearchCV(fusion, grid, cv=3, scoring="neg_log_loss").fit(X_train, y_train)
print(f"grid search over {len(search.cv_results_['params'])} candidates x 3 folds "
      f"in {time.perf_counter() - start:.1f} s; best {search.best_params_}, "
      f"log loss {-search.best_score_:.4f}")

# %%
# The cross-validated log loss of each candidate, against the text member's
# weight; the dotted line is the weight learned above.
results = pd.DataFrame({
    "text weight": [p["weights"][0] for p in search.cv_results_["params"]],
    "combiner": [p["combiner"] for p in search.cv_results_["params"]],
    "log loss": -search.cv_results_["mean_test_score"],
})
fig, ax = plt.subplots(figsize=(6, 3.5))
for combiner, curve in results.groupby("combiner"):
    ax.plot(curve["text weight"], curve["log loss"], marker="o", label=combiner)
ax.axvline(fusion.weights_[0], color="grey", linestyle=":", label="learned (auto)")
ax.set_xlabel("weight of the text member (tab: 1 - weight)")
ax.set_ylabel("log loss, 3-fold CV")
ax.legend()
fig.tight_layout()

# %%
# Reviews without text
# --------------------
# With ``missing="renormalize"`` a review without text is predicted by the
# tabular member alone: its probabilities stay valid.
no_text = X_test[TEXT].isna().to_numpy()
proba = search.predict_proba(X_test[no_text])[:, 1]
print(f"{no_text.sum()} held-out reviews without text: probabilities in "
      f"[{proba.min():.3f}, {proba.max():.3f}], ROC AUC {roc_auc_score(y_test[no_text], proba):.4f}")
cache.cleanup()

plt.show()
