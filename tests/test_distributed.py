"""skfusion.distributed on a LocalCluster of worker processes: the same rows,
order and dtypes as in-process, one model load per worker, parquet in and
out with an empty partition and one without text, a worker killed mid-run,
and a distributed grid search that encodes each distinct text once."""

import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time

import cloudpickle
import joblib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

from skfusion import EarlyFusionClassifier, LateFusionClassifier
from skfusion.distributed import model_loads, predict, setup_workers, transform
from skfusion.utils import _runtime
from skfusion.utils._trust import CacheDir

# the slow classifier below is defined here: workers get it by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])

TEXT = "Review Text"
TABULAR = ["Age", "Positive Feedback Count"]
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soft", "dress", "runs", "small",
         "love", "it", "too", "big", "fabric", "nice", "return", "great", "poor"]


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


@pytest.fixture(scope="module")
def late(reviews):
    X, y = reviews
    fusion = LateFusionClassifier(
        [("text", make_pipeline(TfidfVectorizer(min_df=2), LogisticRegression()), TEXT),
         ("tabular", LogisticRegression(), TABULAR)],
        missing="renormalize",
    )
    return fusion.fit(X, y)


def _parquet_parts(X, directory):
    """X written as parquet parts: the rows in 3 parts, one of them with no
    text at all, plus an empty part between them."""
    directory.mkdir()
    no_text = X.copy()
    no_text.loc[no_text.index[200:300], TEXT] = None
    parts = [no_text.iloc[:200], no_text.iloc[200:300], no_text.iloc[:0], no_text.iloc[300:]]
    for i, part in enumerate(parts):
        part.to_parquet(directory / f"part.{i}.parquet")
    return no_text, [len(p) for p in parts]


def _read_parts(directory):
    return pd.read_parquet(directory).sort_index()


def test_predict_parquet_in_and_out_matches_in_process(client, late, reviews, tmp_path):
    X, _ = reviews
    expected_X, sizes = _parquet_parts(X, tmp_path / "in")
    data = dd.read_parquet(tmp_path / "in")
    assert data.npartitions == 4 and 0 in sizes
    for method, columns in [("predict_proba", ["proba_0", "proba_1"]), ("predict", ["prediction"])]:
        out = predict(late, data, method=method)
        assert list(out.columns) == columns
        out.to_parquet(tmp_path / method)  # written by the workers, partition by partition
        got = _read_parts(tmp_path / method)
        expected = getattr(late, method)(expected_X).reshape(len(X), -1)
        assert_array_equal(got.index, expected_X.index)
        assert_array_equal(got.to_numpy(), expected)
        assert got.dtypes.tolist() == [expected.dtype] * len(columns)
    # the rows without text were predicted from the tabular member alone
    tabular = late.named_estimators_["tabular"].predict_proba(expected_X[TABULAR].iloc[200:300])
    assert_allclose(_read_parts(tmp_path / "predict_proba").iloc[200:300], tabular)


def test_transform_one_model_load_per_worker(client, tiny_bert, reviews):
    from skfusion.encoders import TextEncoder

    X, _ = reviews
    texts = X[[TEXT]].fillna("").iloc[:120]
    encoder = TextEncoder(tiny_bert, max_length=32).fit(texts)
    data = dd.from_pandas(texts, npartitions=6)
    out = transform(encoder, data)
    assert list(out.columns) == [f"text{i}" for i in range(16)]
    assert (out.dtypes == np.float32).all()
    got = out.compute()
    assert_array_equal(got.index, texts.index)
    # each partition is encoded exactly as in-process; across partitions a
    # text is padded with other neighbours, which moves float32 sums by ~1e-6
    parts = [encoder.transform(part.compute()) for part in data.partitions]
    assert_array_equal(got.to_numpy(), np.concatenate(parts))
    assert_allclose(got.to_numpy(), encoder.transform(texts), atol=1e-5)
    # six partitions, each with its own task: one load per worker process
    loads = client.run(model_loads)
    assert len(loads) == 2
    assert all(counts == {f"TextEncoder({tiny_bert})": 1} for counts in loads.values()), loads
    # a second call sends the encoder again; the worker's model is reused
    transform(clone(encoder).fit(texts), data).compute()
    assert all(counts == {f"TextEncoder({tiny_bert})": 1} for counts in client.run(model_loads).values())


def test_transform_early_fusion_features(client, reviews):
    from skfusion.encoders import TabularEncoder

    X, y = reviews
    columns = [*TABULAR, "Department Name"]
    fusion = EarlyFusionClassifier(
        [("tabular", TabularEncoder(), columns), ("age", "passthrough", ["Age"])],
        LogisticRegression(max_iter=500),
    ).fit(X[columns], y)
    data = dd.from_pandas(X, npartitions=3)  # extra columns: dropped on the workers
    out = transform(fusion, data)
    assert list(out.columns) == list(fusion.get_feature_names_out())
    got = out.compute()
    expected = fusion.transform(X[columns])
    assert got.dtypes.unique().tolist() == [expected.dtype]
    assert_array_equal(got.to_numpy(), expected)
    assert_array_equal(got.index, X.index)


@pytest.mark.keras
def test_multitask_predict_one_column_per_task(client, reviews):
    pytest.importorskip("keras")
    from skfusion.multitask import MultiTaskKerasEstimator

    X, _ = reviews
    X = X.dropna(subset=["Department Name"]).iloc[:200]
    Y = pd.DataFrame({"rec": (X["Rating"] > 3).astype(int), "rating": X["Rating"].astype(float),
                      "dept": X["Department Name"]}, index=X.index)
    model = MultiTaskKerasEstimator(
        {"rec": "binary", "rating": "regression", "dept": "multiclass"},
        shared_layers=(8,), epochs=2, random_state=0,
    ).fit(X[TABULAR], Y)
    data = dd.from_pandas(X[TABULAR], npartitions=3)
    got = predict(model, data).compute()
    assert_array_equal(got.columns, ["rec", "rating", "dept"])
    pd.testing.assert_frame_equal(got, model.predict(X[TABULAR]))
    proba = predict(model, data, method="predict_proba").compute()
    assert proba.columns.tolist() == ["rec_0", "rec_1", *[f"dept_{c}" for c in model.classes_["dept"]]]
    # the columns are the model's own public declaration, and it refuses a
    # method it does not have
    pd.testing.assert_frame_equal(model.get_output_meta("predict_proba"), proba.iloc[:0])
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: get_output_meta got "
                       r"method='decision_function'; expected one of \['predict', 'predict_proba'\]"):
        model.get_output_meta("decision_function")
    expected = model.predict_proba(X[TABULAR])
    # a float32 network: on the torch backend, workers (one thread each) run
    # other kernels than this process, a few float32 ulps apart
    assert_allclose(proba.to_numpy(), np.column_stack([expected["rec"], expected["dept"]]),
                    rtol=1e-5, atol=1e-7)


class _Slow(ClassifierMixin, BaseEstimator):
    """Logistic regression on Age that takes its time over each partition."""

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(X[["Age"]], y)
        self.classes_ = self.model_.classes_
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def predict_proba(self, X):
        time.sleep(0.3)
        return self.model_.predict_proba(X[["Age"]])


def test_a_worker_killed_mid_run_every_row_written_once(reviews, tmp_path):
    X, y = reviews
    model = _Slow().fit(X[TABULAR], y)
    data = dd.from_pandas(X[TABULAR], npartitions=24)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            job = predict(model, data, method="predict_proba").to_parquet(tmp_path / "out", compute=False)
            future = client.compute(job)
            pids = client.run(os.getpid)
            time.sleep(1.5)  # a few partitions in
            victim = min(pids)
            assert not future.done()
            os.kill(pids[victim], signal.SIGKILL)
            future.result(timeout=120)
            assert victim not in client.run(os.getpid)  # it died; the nanny started another
    files = sorted((tmp_path / "out").glob("*.parquet"))
    assert len(files) == 24
    got = pd.concat([pd.read_parquet(f) for f in files])
    assert got.index.is_unique and len(got) == len(X)
    assert_array_equal(got.sort_index().to_numpy(), model.predict_proba(X[TABULAR]))


def test_distributed_grid_search_encodes_each_text_once(client, tiny_bert, reviews, tmp_path):
    from skfusion.encoders import TextEncoder

    X, y = reviews
    X, y = X.iloc[:150].fillna({TEXT: ""}), y.iloc[:150]
    fusion = EarlyFusionClassifier(
        [("text", TextEncoder(tiny_bert, max_length=32), TEXT)],
        LogisticRegression(max_iter=200),
    )
    grid = {"classifier__C": [0.1, 1.0, 10.0]}
    serial = GridSearchCV(fusion, grid, cv=3).fit(X, y)
    cache = tmp_path / "embeddings"
    setup_workers(client, n_threads=2, cache=cache)
    # Dask's nanny sets OMP_NUM_THREADS=1: the budget of 2 is the plugin's
    assert set(client.run(_runtime.thread_budget).values()) == {2}
    try:
        with joblib.parallel_backend("dask"):
            search = GridSearchCV(fusion, grid, cv=3, n_jobs=-1).fit(X, y)
    finally:
        client.unregister_worker_plugin("skfusion-worker-defaults")
    assert_allclose(search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])
    # every vector the workers' model computed was written to the shared
    # cache as one shard row: as many rows as distinct texts, none twice
    store = CacheDir(cache, owner="test", param="cache")
    shards = [f.relative_to(cache).as_posix() for f in cache.rglob("*.shard")]
    keys = np.concatenate([store.read(f)[0] for f in shards])
    assert len(keys) == len(set(keys)) == X[TEXT].nunique()
    # the workers' defaults went with the plugin
    assert client.run(lambda: _runtime.process_default("cache")) == {w: None for w in client.run(os.getpid)}


def _sync(collection):
    return collection.compute(scheduler="sync")


def test_multi_output_and_multilabel_columns():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.multiclass import OneVsRestClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    Y = np.column_stack([
        (X["a"] > 0).astype(int),          # binary
        np.digitize(X["b"], [-0.5, 0.5]),  # three classes
        np.zeros(60, dtype=int),           # never positive in fit
    ])
    data = dd.from_pandas(X, npartitions=3)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, Y)
    got = _sync(predict(forest, data))
    assert got.columns.tolist() == ["prediction_0", "prediction_1", "prediction_2"]
    assert_array_equal(got.to_numpy(), forest.predict(X))
    proba = _sync(predict(forest, data, method="predict_proba"))
    assert proba.columns.tolist() == ["proba_0", "proba_1_0", "proba_1_1", "proba_1_2", "proba_2"]
    p0, p1, _ = forest.predict_proba(X)
    assert_array_equal(proba.to_numpy(), np.column_stack([p0[:, 1], p1, np.zeros(60)]))

    # string labels per output keep their dtype, also with columns= given
    labels = np.where(Y[:, :2] > 0, "yes", "no")
    named = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, labels)
    got = _sync(predict(named, data, columns=["first", "second"]))
    assert got.columns.tolist() == ["first", "second"]
    assert_array_equal(got.to_numpy().astype(str), named.predict(X))
    assert got.dtypes.tolist() == [pd.Series(["no"]).dtype] * 2

    # a 0/1 label matrix: one column per label, binary or not
    ovr = OneVsRestClassifier(LogisticRegression()).fit(X, Y[:, :2].clip(0, 1))
    decision = _sync(predict(ovr, data, method="decision_function"))
    assert decision.columns.tolist() == ["decision_0", "decision_1"]
    assert_array_equal(decision.to_numpy(), ovr.decision_function(X))
    fusion = LateFusionClassifier([("ab", ovr, ["a", "b"]), ("c", clone(ovr), ["c"])])
    fusion.fit(X, Y[:, :2].clip(0, 1))
    got = _sync(predict(fusion, data))
    assert got.columns.tolist() == ["prediction_0", "prediction_1"]
    assert_array_equal(got.to_numpy(), fusion.predict(X))
    assert (got.dtypes == np.int64).all()
    # early fusion says so in n_outputs_: its classes_ are its classifier's
    early = EarlyFusionClassifier([("x", "passthrough", ["a", "b", "c"])], clone(ovr))
    early.fit(X, Y[:, :2].clip(0, 1))
    got = _sync(predict(early, data))
    assert got.columns.tolist() == ["prediction_0", "prediction_1"]
    assert_array_equal(got.to_numpy(), early.predict(X))


def test_errors_name_the_call(late, reviews):
    X, _ = reviews
    with pytest.raises(TypeError, match=r"skfusion.distributed.predict: data must be a "
                       r"dask.dataframe DataFrame or Series or a ray.data.Dataset, got DataFrame"):
        predict(late, X)
    with pytest.raises(ValueError, match=r"skfusion.distributed.predict: the estimator must be "
                       r"fitted first .* got an unfitted LateFusionClassifier"):
        predict(clone(late), dd.from_pandas(X, npartitions=2))
    with pytest.raises(ValueError, match=r"LateFusionClassifier has no method "
                       r"'decision_function'; expected one of \['predict', 'predict_proba'"):
        predict(late, dd.from_pandas(X, npartitions=2), method="decision_function")
    with pytest.raises(ValueError, match=r"skfusion.distributed.predict: data lacks the "
                       r"column\(s\) \['Age'\] that LateFusionClassifier was fitted on; it has"):
        predict(late, dd.from_pandas(X.drop(columns="Age"), npartitions=2))
    tfidf = TfidfVectorizer().fit(X[TEXT].fillna(""))
    with pytest.raises(TypeError, match="TfidfVectorizer.transform returned a sparse matrix"):
        transform(tfidf, dd.from_pandas(X[TEXT].fillna(""), npartitions=2),
                  columns=list(tfidf.get_feature_names_out())).compute(scheduler="sync")


# engine-independent pieces, in this process


def test_copies_of_an_encoder_share_one_model(tiny_bert):
    from skfusion.encoders import TextEncoder

    _runtime.clear_models()
    texts = ["love it", "soft dress"]
    first = TextEncoder(tiny_bert).fit(texts)
    copies = [pickle.loads(pickle.dumps(first)) for _ in range(3)] + [clone(first).fit(texts)]
    for copy in copies:
        assert_array_equal(copy.transform(texts), first.transform(texts))
        assert copy._loaded_model is first._loaded_model
    # another device is another model (told apart without loading); pooling is not
    assert TextEncoder(tiny_bert, device="cuda")._model_key() != first._model_key()
    assert TextEncoder(tiny_bert, pooling="cls").fit(texts)._loaded_model is first._loaded_model
    assert model_loads() == {f"TextEncoder({tiny_bert})": 1}
    # threads asking at once load it once
    _runtime.clear_models()
    fresh = [pickle.loads(pickle.dumps(first)) for _ in range(4)]
    threads = [threading.Thread(target=e.transform, args=(texts,)) for e in fresh]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert model_loads() == {f"TextEncoder({tiny_bert})": 1}


def test_thread_budget_follows_the_engine(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert _runtime.thread_budget() == 1
    assert _runtime.thread_budget(3) == 3
    previous = _runtime.set_process_defaults(n_threads=2)
    try:
        assert _runtime.thread_budget() == 2
    finally:
        _runtime.set_process_defaults(**previous)
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert _runtime.thread_budget() == len(os.sched_getaffinity(0))


def test_two_threads_encoding_at_once_leave_torch_as_it_was(tiny_bert):
    """Each pool thread's torch thread count is what it was before its
    encode, whatever the other threads did meanwhile, and so is this one's."""
    from concurrent.futures import ThreadPoolExecutor

    torch = pytest.importorskip("torch")
    from skfusion.encoders import TextEncoder

    main_before = torch.get_num_threads()
    encoder = TextEncoder(tiny_bert, n_threads=main_before + 1).fit(["x"])
    texts = ["love it soft dress runs small"] * 300
    expected = encoder.transform(texts)

    def encode(_):
        before = torch.get_num_threads()
        got = encoder.transform(texts)
        return before, torch.get_num_threads(), got

    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(encode, range(8)))
    assert torch.get_num_threads() == main_before
    for before, after, got in runs:
        assert after == before
        assert_array_equal(got, expected)


def test_claims_split_the_work_and_outlive_no_owner(tmp_path):
    """Two encoders sharing a cache claim disjoint work; a claim left by a
    dead process is ignored; a released claim's keys are read, not encoded."""
    from skfusion.utils._cache import EmbeddingCache

    cache = EmbeddingCache(tmp_path, "ns", owner="TextEncoder")
    other = EmbeddingCache(tmp_path, "ns", owner="TextEncoder")  # another encoder, same namespace
    with cache.claim(["a", "b"]) as (mine, theirs):
        assert (mine, theirs) == (["a", "b"], [])
        with other.claim(["b", "c"]) as (mine_too, theirs_too):
            assert (mine_too, theirs_too) == (["c"], ["b"])
            other.put_many(["c"], np.ones((1, 2)))
        cache.put_many(["a", "b"], np.zeros((2, 2)))
    found = other.wait_for(["b"])
    assert_array_equal(found["b"], [0.0, 0.0])
    assert not list((tmp_path / "skfusion-embeddings" / "ns" / "claims").glob("*.claim"))

    # a process that died holding a claim: its keys are free again
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    claims = tmp_path / "skfusion-embeddings" / "ns" / "claims"
    name = f"{socket.gethostname()}-{dead}-x.claim"
    (claims / name).write_bytes(cache._claims._tag(name, b"d\ne") + b"\nd\ne")
    with cache.claim(["d", "e"]) as (mine, theirs):
        assert (mine, theirs) == (["d", "e"], [])
    assert not (claims / f"{socket.gethostname()}-{dead}-x.claim").exists()

    # a live claim released without its vectors: the waiter gets nothing back
    # and encodes them itself (no endless wait)
    with cache.claim(["f"]) as (mine, _):
        assert mine == ["f"]
        waiter = threading.Thread(target=lambda: results.append(other.wait_for(["f"])))
        results = []
        waiter.start()
        time.sleep(0.1)
        assert waiter.is_alive()  # waiting while the claim lives
    waiter.join(timeout=5)
    assert results == [{}]
