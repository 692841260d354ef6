"""Every ```python block of README.md runs on its own, as a newcomer pastes it.

Each block runs in a fresh interpreter, offline, with nothing defined before
it but one visible patch: ``skfusion.datasets.load_clothing_reviews`` returns
only the first ``ROWS`` reviews, so that a block written for all 23,486 stays
fast here. The README text itself is run unchanged. Blocks about a Keras
model carry the ``keras`` marker, so CI runs them again under the torch
backend. ``prelude`` and ``run_script`` serve tests/test_user_guide.py too.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

ROWS = 2000

def prelude(rows=ROWS):
    """Code run before each block. It prints a line whenever the loader is
    called, so a test can tell that a block which loads the reviews ran on
    ``rows`` of them."""
    return textwrap.dedent(f"""
        import skfusion.datasets

        def _first_rows(*args, _load=skfusion.datasets.load_clothing_reviews, **kwargs):
            data = _load(*args, **kwargs)
            if isinstance(data, tuple):
                data = tuple(part[:{rows}] for part in data)
            else:
                for key in ("data", "target", "frame"):
                    if data.get(key) is not None:
                        data[key] = data[key][:{rows}]
            print("test prelude: load_clothing_reviews gave the first {rows} reviews")
            return data

        skfusion.datasets.load_clothing_reviews = _first_rows
        del _first_rows
    """)


def run_script(code, directory, *, rows=ROWS, cache=None, timeout=300):
    """Run ``prelude(rows)`` and ``code`` in a fresh interpreter, offline, in
    ``directory``; ``cache`` is the blocks' ``user_cache_dir()`` root
    (default: one in ``directory``)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
           "XDG_CACHE_HOME": str(cache or directory / "cache"),
           # the blocks' temporary folders go with the test's own
           "TMPDIR": str(directory)}
    script = directory / "block.py"
    script.write_text(prelude(rows) + "\n" + code, encoding="utf-8")
    return subprocess.run([sys.executable, str(script)], cwd=directory, env=env,
                          capture_output=True, text=True, timeout=timeout)


def readme_blocks():
    """``(id, code)`` of each ```python block, the id naming the section it
    sits under and its line in README.md."""
    blocks, heading, code, start = [], "top", None, 0
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        if code is not None:
            if line.strip() == "```":
                blocks.append((f"{heading}-line{start}", "\n".join(code) + "\n"))
                code = None
            else:
                code.append(line)
        elif line.startswith("```python"):
            code, start = [], number
        elif line.startswith("#"):
            heading = re.sub(r"[^a-z0-9]+", "-", line.lstrip("#").strip().lower()).strip("-")
    return blocks


BLOCKS = readme_blocks()


def _params():
    # a block about a Keras model runs under both backends on CI
    return [pytest.param(code, id=block_id,
                         marks=[pytest.mark.keras] if "Keras" in code else [])
            for block_id, code in BLOCKS]


def test_readme_has_python_blocks():
    # the quickstart stays in the README; the rest of the code lives in the
    # user guide (tests/test_user_guide.py)
    assert [block_id.split("-line")[0] for block_id, _ in BLOCKS] == ["quickstart"]
    assert all(code.strip() for _, code in BLOCKS)


@pytest.mark.parametrize("code", _params())
def test_readme_block_runs_on_its_own(code, tmp_path):
    result = run_script(code, tmp_path)
    assert result.returncode == 0, (
        f"this README block fails when run on its own:\n{code}\n"
        f"stderr:\n{result.stderr[-4000:]}"
    )
    loads = "load_clothing_reviews(" in code
    assert (f"gave the first {ROWS} reviews" in result.stdout) == loads
