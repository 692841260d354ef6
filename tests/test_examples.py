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
    out = run_example("early_fusion_multilabel.py", "--n-samples", "200", "--epochs", "2")
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
