"""skfusion.distributed on Ray Data: the same values as in-process, parquet in
and out, through map_batches with a pool of actors."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from skfusion import LateFusionClassifier
from skfusion.distributed import predict, transform
from skfusion.encoders import TabularEncoder

TEXT = "Review Text"
TABULAR = ["Age", "Positive Feedback Count"]


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    yield
    ray.shutdown()


def test_predict_and_transform_match_in_process(ray_cluster, reviews, tmp_path):
    X, y = reviews
    X = X.copy()
    X.loc[X.index[100:150], TEXT] = None  # rows without text: the tabular member alone
    fusion = LateFusionClassifier(
        [("text", make_pipeline(TfidfVectorizer(min_df=2), LogisticRegression()), TEXT),
         ("tabular", LogisticRegression(), TABULAR)],
        missing="renormalize",
    ).fit(X, y)
    X.to_parquet(tmp_path / "in.parquet")
    data = ray.data.read_parquet(tmp_path / "in.parquet").repartition(3)

    predict(fusion, data, method="predict_proba").write_parquet(tmp_path / "out")
    got = pd.read_parquet(tmp_path / "out")
    assert got.columns.tolist() == ["proba_0", "proba_1"]
    # Ray's batches hold Arrow-backed columns: in-process, the same columns
    # give the same values (NumPy-backed ones can differ in the last bit,
    # as scikit-learn lays them out otherwise for BLAS)
    arrow = pd.read_parquet(tmp_path / "in.parquet", dtype_backend="pyarrow")
    assert_array_equal(got.to_numpy(dtype=np.float64), fusion.predict_proba(arrow))

    encoder = TabularEncoder().fit(X[TABULAR])
    embedded = transform(encoder, data.select_columns(TABULAR)).to_pandas()
    assert embedded.columns.tolist() == list(encoder.get_feature_names_out())
    assert_array_equal(embedded.to_numpy(dtype=np.float64), encoder.transform(X[TABULAR]))
