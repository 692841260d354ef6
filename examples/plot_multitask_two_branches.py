"""
===========================================
Multi-task (c): a head on each input branch
===========================================

Two inputs with their own encoders, a shared layer, and a head on each
branch.

Two modalities of the bundled clothing reviews, each with its own input
branch: the review **text** (all-MiniLM-L6-v2 embeddings, TF-IDF + SVD
without it or with ``--tfidf``, then a dense encoder) and the **product and
reviewer** columns (``TabularEncoder``: age, feedback count, division,
department and class, then a dense encoder). The encoders feed one shared
dense layer. Two heads:

* the star **Rating** (regression) reads the shared layer and the *text*
  branch: ``tasks={"Rating": ("regression", None, "text")}``,
* **Recommended IND** (binary) reads the shared layer and the *tabular*
  branch: ``("binary", None, "tabular")``.

The script prints the model's layers, held-out scores, and the same scores
of the model whose heads read the shared layer only.

Run as a script: ``python examples/plot_multitask_two_branches.py``
(``--n-samples 2000 --epochs 20``: a minute or two on 2 cores, mostly
embedding the reviews; ``--tfidf``: seconds).
"""

# %%
# Helpers
# -------
# Held-out scores of both tasks, and the layers a Keras layer reads.

import argparse
import tempfile

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

from skfusion.datasets import load_clothing_reviews
from skfusion.datasets.clothing_reviews import (
    CATEGORICAL,
    NUMERIC,
    TEXT,
    minilm_path,
    sentence_features,
)
from skfusion.encoders import TabularEncoder
from skfusion.multitask import MultiTaskKerasEstimator

TABULAR = NUMERIC + CATEGORICAL


def scores(model, X, Y):
    pred = model.predict(X)
    proba = model.predict_proba(X)["Recommended IND"][:, 1]
    return (r2_score(Y["Rating"], pred["Rating"]),
            accuracy_score(Y["Recommended IND"], pred["Recommended IND"]),
            roc_auc_score(Y["Recommended IND"], proba))


def inbound(model, layer):
    """The names of the layers of ``model`` whose outputs ``layer`` reads."""
    producers = {id(other.output): other.name for other in model.layers}
    inputs = layer.input if isinstance(layer.input, list) else [layer.input]
    return [producers[id(tensor)] for tensor in inputs]


# %%
# Data
# ----
parser = argparse.ArgumentParser(description="Multi-task: a head on each input branch")
parser.add_argument("--n-samples", type=int, default=400)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--tfidf", action="store_true", help="TF-IDF + SVD instead of MiniLM")
parser.add_argument("--cache-dir", default=None, help="keep the text embeddings here")
args = parser.parse_args()

frame = load_clothing_reviews().frame
frame = frame[frame[TEXT].notna()].sample(n=args.n_samples, random_state=0)
X, Y = frame[[TEXT, *TABULAR]], frame[["Rating", "Recommended IND"]]
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)

# %%
# The model
# ---------
# MiniLM sentence embeddings (kept in a temporary cache), or TF-IDF + SVD
# without MiniLM or with ``--tfidf``, feed the text branch; each task's
# third element names the branch its head reads besides the shared layer.
tmp = tempfile.TemporaryDirectory()
encoder, encoder_name = sentence_features(None if args.tfidf else minilm_path(),
                                          args.cache_dir or tmp.name)
model = MultiTaskKerasEstimator(
    {"Rating": ("regression", None, "text"), "Recommended IND": ("binary", None, "tabular")},
    inputs=[("text", encoder, TEXT), ("tabular", TabularEncoder(), TABULAR)],
    shared_layers=(32,),
    dropout=0.2,
    epochs=args.epochs,
    random_state=0,
).fit(X_train, Y_train)
print(f"{len(X_train)} training / {len(X_test)} held-out reviews; text: {encoder_name}\n")

# %%
# The layers and what each reads: ``task0_with_branch`` joins the shared
# layer and the text branch, ``task1_with_branch`` the shared layer and
# the tabular branch.
print(f"{'layer':<34}{'reads':<48}{'output':>8}")
for layer in model.model_.layers[1:]:
    reads = inbound(model.model_, layer)
    print(f"{layer.name:<34}{', '.join(reads):<48}{layer.output.shape[-1]:>8}")

# %%
# Against heads on the shared layer only
# --------------------------------------
trunk_only = clone(model).set_params(
    tasks={"Rating": "regression", "Recommended IND": "binary"}).fit(X_train, Y_train)
print(f"{'held-out':<36}{'Rating R²':>10}{'Rec. accuracy':>15}{'Rec. AUC':>10}")
rows = {}
for name, fitted in [("heads on their branches", model), ("heads on the shared layer only", trunk_only)]:
    rows[name] = scores(fitted, X_test, Y_test)
    r2, acc, auc = rows[name]
    print(f"{name:<36}{r2:>10.3f}{acc:>15.3f}{auc:>10.3f}")

fig, ax = plt.subplots(figsize=(6, 3))
pd.DataFrame(rows, index=["Rating R²", "Rec. accuracy", "Rec. AUC"]).plot.bar(ax=ax, rot=0)
ax.set_ylabel("held-out score")
fig.tight_layout()
tmp.cleanup()

plt.show()
