import subprocess
import sys

import pytest

import skfusion


def test_import_is_fast_and_imports_no_framework():
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        "import skfusion\n"
        "elapsed = time.perf_counter() - t\n"
        "heavy = [m for m in ('sklearn', 'pandas', 'torch', 'tensorflow', 'keras', 'xgboost') if m in sys.modules]\n"
        "print(elapsed, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    elapsed, heavy = out.split(" ", 1)
    assert float(elapsed) < 0.5
    assert heavy.strip() == "[]"


def test_public_names_resolve_lazily():
    assert skfusion.LateFusionClassifier.__module__ == "skfusion.fusion._late_classifier"
    assert set(skfusion.__all__) <= set(dir(skfusion)) | {"__version__"}
    for name in skfusion.__all__:
        assert getattr(skfusion, name) is not None
    with pytest.raises(AttributeError, match="module 'skfusion' has no attribute 'Nope'"):
        skfusion.Nope
