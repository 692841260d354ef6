"""missing="learned" and modality_dropout in the Keras models: rows without
a branch's input get its learned missing embedding, whole branches drop out
while training, and a row without any branch is a clear error."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import StandardScaler

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

from skfusion.keras import KerasFusionClassifier  # noqa: E402
from skfusion.multitask import MultiTaskKerasEstimator  # noqa: E402


@pytest.fixture(scope="module")
def data():
    """Words that tell the label, a noisy number that does too; 40 rows
    without text, 20 without their numbers."""
    rng = np.random.RandomState(0)
    n = 200
    words = np.array(["good", "bad", "fine", "poor", "great", "awful"])
    y = rng.randint(0, 2, n)
    texts = [" ".join(rng.choice(words[[0, 2, 4]] if label else words[[1, 3, 5]], 3))
             for label in y]
    X = pd.DataFrame({"text": texts, "a": y + rng.normal(scale=1.0, size=n),
                      "b": rng.normal(size=n)})
    X.loc[X.index[:40], "text"] = None
    X.loc[X.index[150:170], ["a", "b"]] = np.nan
    return X, y


def model(**params):
    params = {"missing": "learned", "hidden_layers": (8,), "epochs": 30, "learning_rate": 1e-2,
              "random_state": 0, **params}
    return KerasFusionClassifier(
        [("text", TfidfVectorizer(), "text"), ("tab", StandardScaler(), ["a", "b"])], **params)


def test_rows_without_a_modality_are_fitted_and_predicted(data):
    X, y = data
    clf = model(modality_dropout=0.3).fit(X, y)
    assert clf.score(X.iloc[40:150], y[40:150]) > 0.9  # both branches
    assert clf.score(X.iloc[150:170], y[150:170]) > 0.9  # text only: the words tell
    assert clf.score(X.iloc[:40], y[:40]) > 0.55  # the noisy number only
    proba = clf.predict_proba(X)
    # dropout is off at predict time, and the model pickles
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), proba)
    # a row predicts as it does among the others, its branch missing or not
    np.testing.assert_allclose(clf.predict_proba(X.iloc[[3, 160]]), proba[[3, 160]], rtol=1e-6)


def test_the_missing_embedding_trains(data):
    X, y = data
    clf = model(epochs=1).fit(X, y)
    before = clf.model_.get_layer("branch0_text_missing").get_weights()[0]
    assert np.abs(before).max() > 1e-3  # moved from its zero start
    clf.set_params(warm_start=True, epochs=3).fit(X, y)
    after = clf.model_.get_layer("branch0_text_missing").get_weights()[0]
    assert np.abs(after - before).max() > 1e-3


def test_modality_dropout_is_seeded_and_changes_training(data):
    X, y = data
    X = X.iloc[40:150]  # every row has both branches: only dropout trains the embeddings
    y = y[40:150]
    first = model(modality_dropout=0.5, epochs=3).fit(X, y)
    again = model(modality_dropout=0.5, epochs=3).fit(X, y)
    none = model(epochs=3).fit(X, y)
    embedding = first.model_.get_layer("branch1_tab_missing").get_weights()[0]
    np.testing.assert_array_equal(
        again.model_.get_layer("branch1_tab_missing").get_weights()[0], embedding)
    assert np.abs(embedding).max() > 1e-3
    assert not none.model_.get_layer("branch1_tab_missing").get_weights()[0].any()


def test_a_row_without_any_branch_is_an_error(data):
    X, y = data
    bad = X.copy()
    bad.loc[bad.index[1], ["a", "b"]] = np.nan  # row 1 has no text either
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: 1 row\(s\) of X at fit time "
                       r"\(rows \[1\]\) have no value in any branch \(\['text', 'tab'\]\); a row "
                       r"needs at least one modality"):
        model(epochs=1).fit(bad, y)
    clf = model(epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=r"1 row\(s\) of X at predict time \(rows \[1\]\) have "
                       r"no value in any branch"):
        clf.predict(bad)
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: branch\(es\) \['text'\] have no "
                       r"value in any training row"):
        model(epochs=1).fit(X.iloc[:40], y[:40])


def test_predicting_rows_that_all_lack_one_branch(data):
    X, y = data
    clf = model(epochs=2).fit(X, y)
    assert clf.predict_proba(X.iloc[:40]).shape == (40, 2)  # TF-IDF never sees a row


def test_without_learned_missing_rows_are_the_encoders_to_refuse(data):
    X, y = data
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: branch 'tab' has NaN or "
                       r"infinite values in 20 row\(s\) at fit time"):
        model(missing="error", epochs=1).fit(X.iloc[40:], y[40:])
    with pytest.raises(ValueError, match=r"The 'missing' parameter of KerasFusionClassifier must "
                       r"be a str among .*Got 'drop' instead"):
        model(missing="drop").fit(X, y)
    with pytest.raises(ValueError, match=r"The 'modality_dropout' parameter of "
                       r"KerasFusionClassifier must be a float in the range \[0(\.0)?, 1(\.0)?\)"):
        model(modality_dropout=1.0).fit(X, y)


def test_the_multitask_model_learns_missing_modalities(data):
    X, y = data
    Y = pd.DataFrame({"label": y, "score": np.where(y, 1.0, -1.0)})
    mt = MultiTaskKerasEstimator(
        {"label": "binary", "score": "regression"},
        inputs=[("text", TfidfVectorizer(), "text"), ("tab", StandardScaler(), ["a", "b"])],
        missing="learned", modality_dropout=0.2, shared_layers=(8,), epochs=30,
        learning_rate=1e-2, random_state=0).fit(X, Y)
    pred = mt.predict(X)
    assert (pred["label"].to_numpy()[150:170] == y[150:170]).mean() > 0.9
    assert mt.model_.get_layer("branch0_text_missing").get_weights()[0].any()
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(mt)).predict(X), pred)
