"""
==================================================
Multi-task (b): a shared trunk, two kinds of heads
==================================================

A shared dense trunk, a regression head and a classification head.

One set of features per review - its text embedded with all-MiniLM-L6-v2
(TF-IDF + SVD without it, or with ``--tfidf``) beside the reviewer's age and
the review's positive-feedback count - feeds a shared dense trunk with two
heads: the star **Rating** as a regression (a linear unit, MSE on the
standardised stars) and **Recommended IND** as a binary classification (a
sigmoid, binary cross-entropy). ``X`` is a plain numeric array here
(``inputs=None``); ``Y`` is a DataFrame with one column per task.

The script prints the per-task history, held-out R² / MAE and accuracy /
ROC AUC, a few predictions beside the truth, and a 3-fold grid search over
the loss weights that scores on the Rating task alone
(``task_scorer("Rating", "r2")``).

Run as a script: ``python examples/plot_multitask_shared_trunk.py``
(``--n-samples 2000 --epochs 20``: a few minutes on 2 cores, mostly
embedding the reviews; ``--tfidf``: seconds).
"""

# %%
# Features
# --------
# The text is embedded once, outside the model, and stacked beside the
# scaled numeric columns: the trunk sees numbers only.

import argparse
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split

from skfusion.datasets import load_clothing_reviews
from skfusion.datasets.clothing_reviews import NUMERIC, TEXT, minilm_path, sentence_features
from skfusion.encoders import TabularEncoder
from skfusion.multitask import MultiTaskKerasEstimator, task_scorer

TABULAR = NUMERIC


parser = argparse.ArgumentParser(description="Multi-task: a shared trunk, two kinds of heads")
parser.add_argument("--n-samples", type=int, default=400)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--tfidf", action="store_true", help="TF-IDF + SVD instead of MiniLM")
parser.add_argument("--cache-dir", default=None, help="keep the text embeddings here")
args = parser.parse_args()

frame = load_clothing_reviews().frame
frame = frame[frame[TEXT].notna()].sample(n=args.n_samples, random_state=0)
Y = frame[["Rating", "Recommended IND"]]
with tempfile.TemporaryDirectory() as tmp:
    # MiniLM sentence embeddings (cached), else (or with --tfidf) TF-IDF + SVD
    encoder, encoder_name = sentence_features(None if args.tfidf else minilm_path(),
                                              args.cache_dir or tmp)
    X = np.hstack([encoder.fit_transform(frame[TEXT]),
                   TabularEncoder().fit_transform(frame[TABULAR])]).astype(np.float32)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)
print(f"{len(X_train)} training / {len(X_test)} held-out reviews, {X.shape[1]} features "
      f"({encoder_name} + {', '.join(TABULAR)})")

# %%
# The model
# ---------
# ``X`` is a plain array (``inputs=None``); ``Y`` a DataFrame whose columns
# name the tasks. Keras reports each head's loss and metric per epoch in
# ``history_``.
model = MultiTaskKerasEstimator(
    {"Rating": "regression", "Recommended IND": "binary"},
    shared_layers=(128, 64),
    dropout=0.2,
    epochs=args.epochs,
    random_state=0,
).fit(X_train, Y_train)
print("features -> shared dense (128, 64) -> linear Rating | sigmoid Recommended IND\n")
history = model.history_
last = len(history["loss"]) - 1
print(f"{'epoch':<7}{'loss':>8}{'Rating_loss':>13}{'Rating_mae':>12}"
      f"{'Recommended_loss':>18}{'Recommended_acc':>17}")
for e in sorted({0, last // 2, last}):
    print(f"{e + 1:<7}{history['loss'][e]:>8.3f}{history['Rating_loss'][e]:>13.3f}"
          f"{history['Rating_mae'][e]:>12.3f}{history['Recommended IND_loss'][e]:>18.3f}"
          f"{history['Recommended IND_accuracy'][e]:>17.3f}")

fig, axes = plt.subplots(1, 2, figsize=(8, 3))
for ax, task, metric in [(axes[0], "Rating", "mae"), (axes[1], "Recommended IND", "accuracy")]:
    ax.plot(range(1, last + 2), history[f"{task}_loss"], label="loss")
    ax.plot(range(1, last + 2), history[f"{task}_{metric}"], label=metric)
    ax.set_title(task)
    ax.set_xlabel("epoch")
    ax.legend()
fig.tight_layout()

# %%
# Held-out scores
# ---------------
pred = model.predict(X_test)
proba = model.predict_proba(X_test)["Recommended IND"][:, 1]
print(f"\nheld-out Rating:          R² {r2_score(Y_test['Rating'], pred['Rating']):.3f}, "
      f"MAE {mean_absolute_error(Y_test['Rating'], pred['Rating']):.3f} stars")
print(f"held-out Recommended IND: accuracy "
      f"{accuracy_score(Y_test['Recommended IND'], pred['Recommended IND']):.3f}, "
      f"ROC AUC {roc_auc_score(Y_test['Recommended IND'], proba):.3f}")
print("\nfirst held-out reviews, predicted vs true")
truth = Y_test.head(5).reset_index(drop=True).add_suffix(" (true)")
print(pred.head(5).round(2).join(truth).to_string())

# %%
# Searching the loss weights
# --------------------------
# ``task_scorer`` scores one task of the multi-task model, so a grid search
# can refit on the Rating's R² while it reports the recommendation's ROC AUC.
search = GridSearchCV(
    model,
    {"loss_weights": [None, {"Recommended IND": 0.3}, "uncertainty"]},
    cv=3,
    scoring={"Rating R2": task_scorer("Rating", "r2"),
             "Recommended AUC": task_scorer("Recommended IND", "roc_auc")},
    refit="Rating R2",
).fit(X_train, Y_train)
print("\ngrid search on loss_weights, refit on Rating's R² (3-fold CV)")
results = search.cv_results_
for i, params in enumerate(results["params"]):
    print(f"  loss_weights={params['loss_weights']!s:<28} Rating R² "
          f"{results['mean_test_Rating R2'][i]:.3f}   Recommended AUC "
          f"{results['mean_test_Recommended AUC'][i]:.3f}")
print(f"best: {search.best_params_}")

plt.show()
