"""
=================================================
Multi-task (a): shared text features, three heads
=================================================

One text branch, a shared dense trunk, and three heads trained together.

The review text, embedded with all-MiniLM-L6-v2 (TF-IDF + SVD without it,
or with ``--tfidf``), feeds one shared dense trunk and three heads trained
together on the bundled clothing reviews:

* **sentiment** - softmax over negative / neutral / positive (1-2, 3 and 4-5
  stars),
* **category** - softmax over the 6 departments,
* **tags** - one sigmoid per tag, binary cross-entropy: ``recommended``,
  ``five_stars`` and ``helpful`` (another shopper voted the review up),

with loss weights 1.0 / 0.5 / 0.8. The script prints each task's training
loss over the epochs, then, on held-out reviews, the accuracy of the two
softmax heads and precision / recall / F1 per tag.

With ``--fine-tune K`` the seed's own version runs as well: the shared
text extractor is MiniLM itself, inside the model (a ``TextEncoder`` with
``trainable=K`` as the branch's encoder), its top K transformer layers
trained by the three heads' weighted losses (the bottom computed once per
review; the pretrained layers at a tenth of the learning rate). The script
then prints each task's held-out score for the frozen and the fine-tuned
extractor side by side. One run on 2 cores (torch backend, 1,500
training / 500 held-out reviews, top 2 layers, 8 epochs, 113 s): sentiment
macro-F1 0.538 -> 0.568, category accuracy 0.786 -> 0.814, tags macro-F1
0.788 -> 0.828.

Run as a script: ``python examples/plot_multitask_text_heads.py``
(``--n-samples 2000 --epochs 20``: a minute or two on 2 cores, mostly
embedding the reviews; ``--tfidf``: seconds; ``--fine-tune 2`` adds a few
minutes).
"""

# %%
# Targets and model
# -----------------
# The three tasks' columns come from the reviews: a sentiment label from
# the stars, the department, and three 0/1 tags. ``seed_model`` puts the
# three heads on one shared text branch; ``fine_tune`` trains the same
# model with MiniLM's top layers inside it (``--fine-tune K``).

import argparse
import tempfile
import time

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.metrics import accuracy_score, classification_report, f1_score
from sklearn.model_selection import train_test_split

from skfusion.datasets import load_clothing_reviews
from skfusion.datasets.clothing_reviews import TEXT, minilm_path, sentence_features
from skfusion.multitask import MultiTaskKerasEstimator

TAGS = ["recommended", "five_stars", "helpful"]


def targets(frame):
    """The three tasks' columns: a label, a label and three 0/1 tags."""
    return pd.DataFrame({
        "sentiment": pd.cut(frame["Rating"], [0, 2, 3, 5], labels=["negative", "neutral", "positive"]).astype(str),
        "Department Name": frame["Department Name"],
        "recommended": frame["Recommended IND"],
        "five_stars": (frame["Rating"] == 5).astype(int),
        "helpful": (frame["Positive Feedback Count"] > 0).astype(int),
    })


def seed_model(encoder, epochs):
    """The seed's three-head classifier over one shared text branch."""
    return MultiTaskKerasEstimator(
        {
            "sentiment": "multiclass",
            "category": ("multiclass", "Department Name"),
            "tags": ("multilabel", TAGS),
        },
        inputs=[("text", encoder, TEXT)],
        shared_layers=(128, 64),
        dropout=0.3,
        loss_weights={"sentiment": 1.0, "category": 0.5, "tags": 0.8},
        epochs=epochs,
        random_state=0,
    )


def task_scores(Y_test, pred):
    return {
        "sentiment macro-F1": f1_score(Y_test["sentiment"], pred["sentiment"], average="macro"),
        "category accuracy": accuracy_score(Y_test["Department Name"], pred["Department Name"]),
        "tags macro-F1": f1_score(Y_test[TAGS].to_numpy(), pred[TAGS].to_numpy(), average="macro",
                                  zero_division=0),
    }


def fine_tune(encoder, args, X_train, X_test, Y_train, Y_test, frozen_pred):
    """The same model with MiniLM's top layers trained under the heads."""
    start = time.perf_counter()
    text = encoder.set_params(trainable=args.fine_tune, learning_rate_multiplier=0.1)
    model = seed_model(text, args.fine_tune_epochs).fit(X_train, Y_train)
    seconds = time.perf_counter() - start
    frozen, tuned = task_scores(Y_test, frozen_pred), task_scores(Y_test, model.predict(X_test))
    print(f"\nshared extractor: frozen MiniLM vs its top {args.fine_tune} layers fine-tuned "
          f"({args.fine_tune_epochs} epochs, fitted in {seconds:.0f} s), held-out reviews")
    print(f"{'task':<22}{'frozen':>10}{'fine-tuned':>12}")
    for task in frozen:
        print(f"{task:<22}{frozen[task]:>10.3f}{tuned[task]:>12.3f}")
    better = sum(tuned[t] > frozen[t] for t in frozen)
    print(f"fine-tuned better on {better} of {len(frozen)} tasks")


# %%
# Data
# ----
parser = argparse.ArgumentParser(description="Multi-task: shared text features, three heads")
parser.add_argument("--n-samples", type=int, default=400)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--tfidf", action="store_true", help="TF-IDF + SVD instead of MiniLM")
parser.add_argument("--cache-dir", default=None, help="keep the text embeddings here")
parser.add_argument("--fine-tune", type=int, default=0, metavar="K",
                    help="also train the top K MiniLM layers under the heads")
parser.add_argument("--fine-tune-epochs", type=int, default=8)
args = parser.parse_args()

frame = load_clothing_reviews().frame
frame = frame[frame[TEXT].notna() & frame["Department Name"].notna()]
frame = frame.sample(n=min(args.n_samples, len(frame)), random_state=0)
X, Y = frame[[TEXT]], targets(frame)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)

# %%
# The model
# ---------
# MiniLM sentence embeddings (kept in a temporary cache), or TF-IDF + SVD
# without MiniLM or with ``--tfidf``, as the one input branch.
tmp = tempfile.TemporaryDirectory()
encoder, encoder_name = sentence_features(None if args.tfidf else minilm_path(),
                                          args.cache_dir or tmp.name)
model = seed_model(encoder, args.epochs).fit(X_train, Y_train)
print(f"{len(X_train)} training / {len(X_test)} held-out reviews; text: {encoder_name}")
print("text -> dense 128 -> shared (128, 64), dropout 0.3 -> softmax(3) sentiment, softmax(6) "
      "category, 3 sigmoids tags; loss weights 1.0 / 0.5 / 0.8\n")

# %%
# Each task's training loss, from ``history_``.
history = model.history_
epochs = sorted({0, len(history["loss"]) // 2, len(history["loss"]) - 1})
print("training loss    " + "".join(f"{'epoch ' + str(e + 1):>10}" for e in epochs))
for key in ["loss", "sentiment_loss", "category_loss", "tags_loss"]:
    print(f"{key:<17}" + "".join(f"{history[key][e]:>10.3f}" for e in epochs))

fig, ax = plt.subplots(figsize=(6, 3.5))
for key in ["loss", "sentiment_loss", "category_loss", "tags_loss"]:
    ax.plot(range(1, len(history[key]) + 1), history[key], label=key)
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend()
fig.tight_layout()

# %%
# Held-out scores
# ---------------
pred = model.predict(X_test)
score = model.score(X_test, Y_test)
print("held-out")
print(f"sentiment  accuracy {accuracy_score(Y_test['sentiment'], pred['sentiment']):.3f}, "
      f"macro-F1 {f1_score(Y_test['sentiment'], pred['sentiment'], average='macro'):.3f} "
      f"(majority class: {Y_test['sentiment'].value_counts(normalize=True).iloc[0]:.3f})")
print(f"category   accuracy {accuracy_score(Y_test['Department Name'], pred['Department Name']):.3f} "
      f"(majority class: {Y_test['Department Name'].value_counts(normalize=True).iloc[0]:.3f})")
print("\ntags")
print(classification_report(Y_test[TAGS].to_numpy(), pred[TAGS].to_numpy(), target_names=TAGS,
                            digits=3, zero_division=0))
print(f"mean of the three tasks' scores (model.score): {score:.3f}")

# %%
# Fine-tuning the shared extractor (``--fine-tune K``)
# ----------------------------------------------------
# Off in the gallery; from the command line it trains MiniLM's top K
# layers under the three heads and compares each task's score.
if args.fine_tune and hasattr(encoder, "trainable"):
    fine_tune(encoder, args, X_train, X_test, Y_train, Y_test, pred)
tmp.cleanup()

plt.show()
