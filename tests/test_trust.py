"""Attacks on and faults of what skfusion reads from disk: each must fail to
do harm. A planted pickle whose ``__reduce__`` would create a marker file is
put where every store of the cache keeps its entries (fitted members, their
outputs and classes, early fusion's fit_transform blocks, embedding shards);
the marker must never appear."""

import grp
import hashlib
import os
import pickle
import shutil
import socket
import stat
import threading
import time
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skfusion import EarlyFusionClassifier, LateFusionClassifier
from skfusion.utils import CacheWarning, SharedCache, UnsafeCacheError
from skfusion.utils import _claims
from skfusion.utils._cache import EmbeddingCache, MemberCache
from skfusion.utils._trust import CacheDir, _private_group

from conftest import TEXT

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from skfusion.encoders import TextEncoder  # noqa: E402

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "great", "dress", "small",
         "love", "it", "the", "fit", "is", "too", "not", "nice", "fabric", "soft"]
TEXTS = ["great dress", "love it", "too small", "the fabric is soft", "not nice"]
KEY, FORGED_KEY = "0123456789abcdef-team-key", "fedcba9876543210-guess"
is_root = hasattr(os, "geteuid") and os.geteuid() == 0


class Payload:
    """Unpickling it creates ``marker``: the code an attacker would run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def data(reviews):
    X, y = reviews
    X = X[X[TEXT].notna()].iloc[:200].reset_index(drop=True)
    return X, y.loc[X.index].reset_index(drop=True)


def fit_late(location, data, tiny_bert):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    X, y = data
    late = LateFusionClassifier(
        [("text", make_pipeline(TfidfVectorizer(), LogisticRegression()), TEXT),
         ("age", LogisticRegression(), ["Age"])],
        memory=location,
    ).fit(X, y)
    return late.predict_proba(X)


def fit_early(location, data, tiny_bert):
    X, y = data
    early = EarlyFusionClassifier([("age", StandardScaler(), ["Age", "Positive Feedback Count"])],
                                  LogisticRegression(), memory=location).fit(X, y)
    return early.predict_proba(X)


def fit_encoder(location, data, tiny_bert):
    return TextEncoder(tiny_bert, max_length=16, cache=location).fit(TEXTS).transform(TEXTS)


STORES = {"late": fit_late, "early": fit_early, "encoder": fit_encoder}


def fits(location, data, tiny_bert):
    """Fit every store of the cache under ``location`` (None: no cache);
    return what each predicts, to compare with the uncached results."""
    return {name: fit(location, data, tiny_bert) for name, fit in STORES.items()}


@pytest.fixture(scope="module")
def layout(tmp_path_factory, data, tiny_bert):
    """The uncached results, and the entries a cache of every store holds."""
    expected = fits(None, data, tiny_bert)
    clean = tmp_path_factory.mktemp("clean")
    fits(clean, data, tiny_bert)
    entries = sorted(p.relative_to(clean) for p in clean.rglob("*")
                     if p.is_file() and p.suffix in (".entry", ".shard"))
    kinds = {p.parts[1] if p.parts[0] == "skfusion" else "shard" for p in entries}
    assert kinds == {"member", "classes", "output", "fit_transform", "shard"}
    return expected, entries


def plant(location, entries, marker, forge=None):
    """Put a payload where every entry of ``entries`` lives: raw pickles, or
    with ``forge`` (a CacheDir) entries tagged by someone without the key."""
    for relpath in entries:
        path = location / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if forge is None:
            path.write_bytes(pickle.dumps(Payload(marker)))
        else:
            forge.write(str(relpath), Payload(marker), pickled=True)


def assert_same(got, expected):
    for name in expected:
        assert_allclose(got[name], expected[name], rtol=1e-6, atol=1e-7, err_msg=name)


def _other_group():
    """A group with a member other than this user (not user-private)."""
    for group in grp.getgrall():
        if group.gr_gid != os.getegid() and not _private_group(group.gr_gid):
            return group.gr_gid
    return None


def _foreign_owner(path):
    for p in [path, *path.rglob("*")]:
        os.chown(p, 65534, 65534, follow_symlinks=False)


def _world_writable(path):
    os.chmod(path, 0o777)


def _group_writable(path):
    os.chown(path, -1, _other_group())
    os.chmod(path, 0o770)


def _entries_world_writable(path):
    for entry in path.rglob("*"):
        if entry.is_file():
            os.chmod(entry, 0o666)


ATTACKS = {
    "foreign owner": (_foreign_owner, r"owned by nobody"),
    "world-writable": (_world_writable, r"mode 0777"),
    "shared group-writable": (_group_writable, r"mode 0770"),
    "entries writable by others": (_entries_world_writable, r"mode 0666"),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_planted_payload_never_runs_in_a_directory_others_can_write(
        attack, layout, data, tiny_bert, tmp_path):
    change, match = ATTACKS[attack]
    if attack == "foreign owner" and not is_root:
        pytest.skip("giving a directory to another user needs root")
    if attack == "shared group-writable" and (not is_root or _other_group() is None):
        pytest.skip("needs root and a group with another member")
    _, entries = layout
    marker, cache = tmp_path / "marker", tmp_path / "cache"
    cache.mkdir(mode=0o700)
    plant(cache, entries, marker)
    change(cache)
    owners = {"late": "LateFusionClassifier", "early": "EarlyFusionClassifier",
              "encoder": "TextEncoder"}
    for name, fit in STORES.items():
        param = "cache" if name == "encoder" else "memory"
        with pytest.raises(UnsafeCacheError, match=rf"{owners[name]}: refusing the cache at "
                                                   rf"'{cache}' \({param}=\).*{match}.*Fix: "):
            fit(cache, data, tiny_bert)
    assert not marker.exists()


def test_a_symlinked_cache_or_entry_is_refused(layout, data, tiny_bert, tmp_path):
    _, entries = layout
    marker, real = tmp_path / "marker", tmp_path / "real"
    real.mkdir(mode=0o700)
    plant(real, entries, marker)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(UnsafeCacheError, match=r"is a symbolic link"):
        fits(link, data, tiny_bert)
    # a link deeper down: an entry pointing at the planted file
    own = tmp_path / "own"
    fits(own, data, tiny_bert)
    entry = next(p for p in own.rglob("*.entry") if store_of(p) == "classes")
    entry.unlink()
    entry.symlink_to(real / entry.relative_to(own))
    forget_what_was_read()
    with pytest.raises(UnsafeCacheError, match=r"is a symbolic link"):
        fits(own, data, tiny_bert)
    assert not marker.exists()


def test_a_new_cache_directory_is_private(tmp_path, data):
    cache = tmp_path / "new" / "cache"
    LateFusionClassifier([("age", LogisticRegression(), ["Age"])], memory=cache).fit(*data)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o022 == 0 for p in cache.rglob("*"))


@pytest.mark.parametrize("forged", [False, True], ids=["raw pickles", "forged tags"])
def test_a_shared_cache_ignores_entries_written_without_its_key(
        forged, layout, data, tiny_bert, tmp_path, monkeypatch):
    expected, entries = layout
    marker, cache = tmp_path / "marker", tmp_path / "team"
    cache.mkdir()
    os.chmod(cache, 0o777)  # a team directory: others write here on purpose
    monkeypatch.setenv("SKFUSION_CACHE_KEY", FORGED_KEY)
    forge = CacheDir(SharedCache(cache), owner="attacker", param="memory") if forged else None
    plant(cache, entries, marker, forge)
    monkeypatch.setenv("SKFUSION_CACHE_KEY", KEY)
    with pytest.warns(CacheWarning, match=r"fails its HMAC" if forged else "not a skfusion cache"):
        got = fits(SharedCache(cache), data, tiny_bert)
    assert not marker.exists()
    assert_same(got, expected)
    # the entries were rewritten with the key: a second run reads them quietly
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        assert_same(fits(SharedCache(cache), data, tiny_bert), expected)


def test_a_shared_cache_rejects_wrong_values_without_the_key(
        layout, data, tiny_bert, tmp_path, monkeypatch):
    """Valid encodings of wrong values (probabilities, zero embeddings), as
    an attacker without the key can write them, are never returned."""
    expected, entries = layout
    cache = tmp_path / "team"
    monkeypatch.setenv("SKFUSION_CACHE_KEY", KEY)
    fits(SharedCache(cache), data, tiny_bert)
    monkeypatch.setenv("SKFUSION_CACHE_KEY", FORGED_KEY)
    forge = CacheDir(SharedCache(cache), owner="attacker", param="memory")
    shards = [p for p in entries if p.suffix == ".shard"]
    outputs = [p for p in entries if p.parts[:2] == ("skfusion", "output")]
    assert shards and outputs
    for relpath in outputs:
        forge.write(str(relpath), np.full((len(data[0]), 2), 0.5))
    for relpath in shards:  # the same keys, zero vectors; and an extra shard
        keys = np.asarray([f"{i}" for i in range(3)])
        forge.write(str(relpath), (keys, np.zeros((3, 16), np.float32), None))
        forge.write(str(relpath.with_name("extra.shard")), (keys, np.zeros((3, 16), np.float32), None))
    monkeypatch.setenv("SKFUSION_CACHE_KEY", KEY)
    with pytest.warns(CacheWarning, match=r"fails its HMAC"):
        got = fits(SharedCache(cache), data, tiny_bert)
    assert_same(got, expected)


def test_a_shared_cache_needs_a_key(tmp_path, monkeypatch, data):
    monkeypatch.delenv("SKFUSION_CACHE_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    fusion = LateFusionClassifier([("age", LogisticRegression(), ["Age"])],
                                  memory=SharedCache(tmp_path / "team"))
    with pytest.raises(LookupError, match=r"SharedCache: no key; set the environment "
                                          r"variable SKFUSION_CACHE_KEY or write one to "):
        fusion.fit(*data)
    key_file = tmp_path / "config" / "skfusion" / "cache.key"
    key_file.parent.mkdir(parents=True)
    key_file.write_text(KEY)
    os.chmod(key_file, 0o644)
    with pytest.raises(UnsafeCacheError, match=r"key file .* must be a file of yours with mode 0600"):
        fusion.fit(*data)
    os.chmod(key_file, 0o600)
    fusion.fit(*data)
    # the key is in no parameter, repr or pickle
    assert KEY not in repr(fusion) and KEY.encode() not in pickle.dumps(fusion)


def forget_what_was_read():
    """What a new process knows: nothing read from a cache yet."""
    MemberCache._members.clear()
    MemberCache._intact.clear()
    EmbeddingCache._loaded.clear()


def store_of(path):
    return path.parts[-3] if path.suffix == ".entry" else "shard"


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "swapped"])
def test_a_damaged_entry_is_recomputed_with_a_warning(damage, layout, data, tiny_bert, tmp_path):
    expected, entries = layout
    cache = tmp_path / "own"
    fits(cache, data, tiny_bert)
    files = [cache / p for p in entries]
    other = {f: files[(i + 1) % len(files)].read_bytes() for i, f in enumerate(files)}
    # a cached fit reads "classes" first and the member only when they are
    # whole: the classes are damaged in a second round
    for round_ in ({"member", "output", "fit_transform", "shard"}, {"classes"}):
        damaged = [f for f in files if store_of(f) in round_]
        for f in damaged:
            content = f.read_bytes()
            f.write_bytes({"truncated": content[:len(content) // 2], "empty": b"",
                           "garbage": os.urandom(200), "swapped": other[f]}[damage])
        forget_what_was_read()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = fits(cache, data, tiny_bert)
        assert_same(got, expected)
        assert all(issubclass(w.category, CacheWarning) for w in caught)
        named = {store_of(f) for f in damaged if any(str(f) in str(w.message) for w in caught)}
        assert named == round_
        # overwritten: the next run finds them whole
        forget_what_was_read()
        with warnings.catch_warnings():
            warnings.simplefilter("error", CacheWarning)
            assert_same(fits(cache, data, tiny_bert), expected)


def test_an_unwritable_cache_computes_and_warns_once(data, tmp_path, monkeypatch):
    cache = tmp_path / "read-only"
    fusion = LateFusionClassifier([("age", LogisticRegression(), ["Age"])], memory=cache)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # root ignores mode bits: refuse the writes themselves
    monkeypatch.setattr("tempfile.mkstemp", refuse)
    with pytest.warns(CacheWarning, match=r"LateFusionClassifier: the cache at .* \(memory=\) "
                                          r"is not writable \(.*Permission denied\)"):
        fusion.fit(*data)
    expected = LateFusionClassifier([("age", LogisticRegression(), ["Age"])]).fit(*data)
    assert_array_equal(fusion.predict_proba(data[0]), expected.predict_proba(data[0]))


def test_arrays_strings_and_sparse_outputs_are_stored_without_pickle(tmp_path):
    from scipy import sparse

    store = CacheDir(tmp_path, owner="test", param="memory")
    values = {
        "floats": np.arange(6, dtype=np.float32).reshape(3, 2),
        "labels": np.array(["no", "yes"], dtype=object),
        "unicode": np.array(["a", "bé"]),
        "sparse": sparse.csr_matrix(np.eye(3)),
        "multilabel": [np.array([0, 1]), np.array(["a", "b"], dtype=object)],
        "none": None,
    }
    for name, value in values.items():
        store.write(f"v/{name}", value)
        raw = (tmp_path / "v" / name).read_bytes()
        assert b"\x80\x05" not in raw[:64]  # no pickle protocol header
        got = store.read(f"v/{name}")
        if name == "sparse":
            assert type(got) is type(value) and (got != value).nnz == 0
        elif name == "multilabel":
            for a, b in zip(got, value):
                assert a.dtype == b.dtype
                assert_array_equal(a, b)
        elif value is None:
            assert got is None
        else:
            assert got.dtype == value.dtype
            assert_array_equal(got, value)


def test_a_stale_foreign_claim_costs_at_most_the_bound(tiny_bert, tmp_path, monkeypatch):
    """A claim left by a killed process, renamed to another host's name, no
    longer stalls the next transform for ten minutes."""
    monkeypatch.setattr(_claims, "CLAIM_STALE", 1.0)
    encoder = TextEncoder(tiny_bert, max_length=16, cache=tmp_path).fit(TEXTS)
    expected = TextEncoder(tiny_bert, max_length=16).fit(TEXTS).transform(TEXTS)
    cache = EmbeddingCache(tmp_path, encoder._cache_namespace(), owner="TextEncoder")
    keys = [hashlib.blake2b(t.encode(), digest_size=20).hexdigest() for t in TEXTS]
    # a valid claim of a process on another host, never refreshed: live
    # until it has not changed for the bound
    stale = cache.directory / "claims" / "elsewhere-4242-dead.claim"
    stale.parent.mkdir(parents=True)
    body = "\n".join(keys).encode()
    stale.write_bytes(cache._claims._tag(stale.name, body) + b"\n" + body)
    start = time.monotonic()
    got = encoder.transform(TEXTS)
    waited = time.monotonic() - start
    assert_allclose(got, expected, rtol=1e-6)
    assert waited < 1.0 + 1.5  # the bound, plus polling and encoding
    assert not stale.exists()


def test_a_live_owner_past_the_bound_keeps_its_claim(tmp_path, monkeypatch):
    monkeypatch.setattr(_claims, "CLAIM_STALE", 0.4)
    owner = EmbeddingCache(tmp_path, "ns", owner="TextEncoder")
    other = EmbeddingCache(tmp_path, "ns", owner="TextEncoder")
    holding, release = threading.Event(), threading.Event()

    def encode_slowly():
        with owner.claim(["a"]) as (mine, _):
            assert mine == ["a"]
            holding.set()
            release.wait(5)
            owner.put_many(["a"], np.ones((1, 2)))

    thread = threading.Thread(target=encode_slowly)
    thread.start()
    holding.wait(5)
    time.sleep(3 * 0.4)  # three bounds: refreshed all along
    with other.claim(["a"]) as (mine, theirs):
        assert (mine, theirs) == ([], ["a"])
    release.set()
    assert_array_equal(other.wait_for(["a"])["a"], [1.0, 1.0])
    thread.join()


def test_a_long_wait_is_logged(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(_claims, "_LOG_EVERY", 0.2)
    owner = EmbeddingCache(tmp_path, "ns", owner="TextEncoder")
    other = EmbeddingCache(tmp_path, "ns", owner="TextEncoder")
    with owner.claim(["a"]):
        timer = threading.Timer(0.6, owner.put_many, (["a"], np.ones((1, 2))))
        timer.start()
        with caplog.at_level("WARNING", logger="skfusion.cache"):
            other.wait_for(["a"])
        timer.join()
    host = socket.gethostname()
    assert f"for 1 input(s) that {host}-{os.getpid()}-" in caplog.text


def test_a_changed_or_moved_model_directory_is_an_error(tiny_bert, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_bert, model)
    encoder = pickle.loads(pickle.dumps(TextEncoder(model, max_length=16).fit(TEXTS)))
    # noise in the word embeddings, as the attack did
    weights = transformers.BertModel.from_pretrained(model)
    with torch.no_grad():
        weights.embeddings.word_embeddings.weight.add_(0.1)
    weights.save_pretrained(model)
    with pytest.raises(ValueError, match=r"TextEncoder: the model files at '.*model' "
                                         r"\(model=\) changed since this encoder was fitted "
                                         r"\(digest [0-9a-f]{40}, now [0-9a-f]{40}\)"):
        encoder.transform(TEXTS)
    shutil.rmtree(model)
    with pytest.raises(FileNotFoundError, match=r"TextEncoder: model='.*model' is no "
                                                r"directory \(any more\)"):
        encoder.transform(TEXTS)


@pytest.mark.skipif(not is_root, reason="acting as a second user needs root")
def test_two_users_share_a_shared_cache(tmp_path, monkeypatch):
    """Entries, directories, the lock and claims one member of the team
    writes, another reads and writes too; nothing gets a raw PermissionError."""
    import tempfile

    monkeypatch.setenv("SKFUSION_CACHE_KEY", KEY)
    team = 4242  # the team's group: both users are in it
    base = tempfile.mkdtemp()
    try:
        os.chmod(base, 0o711)
        root = os.path.join(base, "team")
        os.mkdir(root)
        os.chown(root, -1, team)
        os.chmod(root, 0o2775)
        mine = CacheDir(SharedCache(root), owner="test", param="memory")
        mine.write("skfusion/output/ab/mine.entry", np.arange(3.0))
        with EmbeddingCache(SharedCache(root), "ns", owner="test").claim(["k"]):
            pass
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the other user
            code = 1
            try:
                os.setgroups([team])
                os.setgid(65534)
                os.setuid(65534)
                theirs = CacheDir(SharedCache(root), owner="test", param="memory")
                ok = np.array_equal(theirs.read("skfusion/output/ab/mine.entry"), np.arange(3.0))
                theirs.write("skfusion/output/ab/theirs.entry", np.ones(2))
                cache = EmbeddingCache(SharedCache(root), "ns", owner="test")
                with cache.claim(["k", "j"]) as (claimed, _):
                    cache.put_many(claimed, np.zeros((len(claimed), 2)))
                code = 0 if ok and claimed == ["k", "j"] else 2
            finally:
                os.write(write, bytes([code]))
                os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 1) == b"\x00"
        with warnings.catch_warnings():
            warnings.simplefilter("error", CacheWarning)
            assert_array_equal(mine.read("skfusion/output/ab/theirs.entry"), np.ones(2))
            found = EmbeddingCache(SharedCache(root), "ns", owner="test").get_many(["k", "j"])
        assert sorted(found) == ["j", "k"]
    finally:
        shutil.rmtree(base)


def test_what_is_no_entry_in_a_shared_cache_is_ignored(tmp_path, monkeypatch):
    """A FIFO or a link where an entry, a shard or a claim would be: no
    hang, no crash; the entries are ignored with a warning, the claims
    removed."""
    monkeypatch.setenv("SKFUSION_CACHE_KEY", KEY)
    root = tmp_path / "team"
    cache = EmbeddingCache(SharedCache(root), "ns", owner="TextEncoder")
    cache.put_many(["a"], np.ones((1, 2)))
    EmbeddingCache._loaded.clear()
    os.mkfifo(cache.directory / "planted.shard")
    (cache.directory / "linked.shard").symlink_to("/etc/passwd")
    (cache.directory / "claims").mkdir(exist_ok=True)
    os.mkfifo(cache.directory / "claims" / "elsewhere-1-x.claim")
    (cache.directory / "claims" / "elsewhere-2-y.claim").symlink_to("/etc/passwd")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = cache.get_many(["a"])
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2 and all(w.category is CacheWarning for w in caught)
    assert "linked.shard' (cache=): it cannot be read" in messages[0]
    assert "planted.shard' (cache=): it is not a regular file" in messages[1]
    assert_array_equal(found["a"], [1.0, 1.0])
    with cache.claim(["b"]) as (mine, theirs):
        assert (mine, theirs) == (["b"], [])
    assert sorted(p.name for p in (cache.directory / "claims").iterdir()) == []


def test_a_claim_from_the_future_costs_at_most_the_bound(tmp_path, monkeypatch):
    """Staleness is judged by this process's clock: another host's clock
    (a modification time far ahead) cannot stretch the wait."""
    monkeypatch.setattr(_claims, "CLAIM_STALE", 0.5)
    cache = EmbeddingCache(tmp_path, "ns", owner="TextEncoder")
    claims = cache.directory / "claims"
    claims.mkdir(parents=True)
    name = "elsewhere-7-future.claim"
    (claims / name).write_bytes(cache._claims._tag(name, b"a") + b"\na")
    os.utime(claims / name, (time.time() + 86400, time.time() + 86400))
    start = time.monotonic()
    with cache.claim(["a"]) as (mine, theirs):
        assert (mine, theirs) == ([], ["a"])
    assert cache.wait_for(["a"]) == {}
    assert time.monotonic() - start < 0.5 + 1.0


def test_an_unwritable_cache_still_encodes(tiny_bert, tmp_path, monkeypatch):
    expected = TextEncoder(tiny_bert, max_length=16).fit(TEXTS).transform(TEXTS)
    encoder = TextEncoder(tiny_bert, max_length=16, cache=tmp_path / "ro").fit(TEXTS)

    def refuse(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    with pytest.warns(CacheWarning, match=r"TextEncoder: the cache at .* \(cache=\) is not "
                                          r"writable \(.*Read-only file system\)"):
        got = encoder.transform(TEXTS)
    assert_allclose(got, expected, rtol=1e-6)


def test_shards_of_the_previous_format_are_left_alone_quietly(tiny_bert, tmp_path):
    encoder = TextEncoder(tiny_bert, max_length=16, cache=tmp_path).fit(TEXTS)
    expected = encoder.transform(TEXTS)
    directory = next((tmp_path / "skfusion-embeddings").iterdir())
    np.savez(directory / "old.npz", keys=np.asarray(["x"]), vectors=np.zeros((1, 16)))
    forget_what_was_read()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_allclose(TextEncoder(tiny_bert, max_length=16, cache=tmp_path).fit(TEXTS)
                        .transform(TEXTS), expected)
