"""Every ``.. code-block:: python`` of the user guide (docs/user_guide) runs.

A page is read as a reader follows it: its python blocks run in order, in one
fresh interpreter, offline, with the README test's one visible patch
(``load_clothing_reviews`` gives only the first ``ROWS`` reviews). Between
blocks the script prints a marker, so a failure names the block it came
from. Pages about a Keras model carry the ``keras`` marker, so CI runs them
again under the torch backend. All pages share one ``user_cache_dir()`` root,
as a reader's pages share their home directory's cache.
"""

import re
from pathlib import Path

import pytest
from test_readme import run_script

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "user_guide"

ROWS = 1000

# the languages a code block of the guide may have: python runs here, bash is
# a shell command (an install line) shown, not run
LANGUAGES = {"python", "bash"}


def code_blocks(page):
    """``(language, line, code)`` of each ``.. code-block::`` of ``page``, the
    code dedented, in the page's order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks, number = [], 0
    while number < len(lines):
        match = re.match(r"(\s*)\.\. code-block::\s*(\S*)", lines[number])
        number += 1
        if not match:
            continue
        indent, language, start = len(match.group(1)), match.group(2), number
        body = []
        while number < len(lines) and (not lines[number].strip()
                                       or len(lines[number]) - len(lines[number].lstrip()) > indent):
            body.append(lines[number])
            number += 1
        code = [line for line in body if not re.match(r"\s*:\w[\w-]*:", line)]
        while code and not code[-1].strip():
            code.pop()
        while code and not code[0].strip():
            code.pop(0)
        margin = min(len(line) - len(line.lstrip()) for line in code if line.strip())
        blocks.append((language, start, "\n".join(line[margin:] for line in code) + "\n"))
    return blocks


PAGES = sorted(GUIDE.glob("*.rst"))


def page_script(page):
    """The page's python blocks, each after a line that prints its number."""
    parts = []
    for index, (language, line, code) in enumerate(code_blocks(page)):
        if language == "python":
            parts.append(f"print('user guide block {index} (line {line})', flush=True)\n{code}")
    return "\n".join(parts)


def _params():
    params = []
    for page in PAGES:
        script = page_script(page)
        if script:
            # a Keras model of skfusion's, or the Keras backbone of ImageEncoder
            marks = [pytest.mark.keras] if re.search(r"Keras|keras|ImageEncoder", script) else []
            params.append(pytest.param(page, id=page.stem, marks=marks))
    return params


def test_every_page_has_its_code_blocks_checked():
    assert len(PAGES) >= 12
    index = (GUIDE / "index.rst").read_text(encoding="utf-8")
    for page in PAGES:
        if page.stem != "index":
            assert re.search(rf"^\s+{page.stem}$", index, re.M), f"{page.name} is not in the toctree"
        text = page.read_text(encoding="utf-8")
        # code that a doctest or a literal block would show without this test running it
        assert ">>>" not in text, f"{page.name}: use a python code-block, which this test runs"
        assert not re.search(r"^\.\. (code|sourcecode|literalinclude)::", text, re.M), page.name
        assert {language for language, _, _ in code_blocks(page)} <= LANGUAGES, page.name
    python = [block for page in PAGES for block in code_blocks(page) if block[0] == "python"]
    shell = [block for page in PAGES for block in code_blocks(page) if block[0] == "bash"]
    assert len(python) >= 20 and len(shell) <= len(python) // 4


def test_code_blocks_are_found(tmp_path):
    """The parser sees a block's options, indentation and end as Sphinx does."""
    page = tmp_path / "page.rst"
    page.write_text(
        "Title\n=====\n\n.. code-block:: python\n   :caption: two lines\n\n"
        "   a = 1\n\n   if a:\n       b = 2\n\nText.\n\n"
        "- item\n\n  .. code-block:: bash\n\n     pip install skfusion\n",
        encoding="utf-8")
    assert code_blocks(page) == [("python", 4, "a = 1\n\nif a:\n    b = 2\n"),
                                 ("bash", 16, "pip install skfusion\n")]


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("user-cache")


@pytest.mark.parametrize("page", _params())
def test_page_runs_in_order(page, tmp_path, shared_cache):
    script = page_script(page)
    result = run_script(script, tmp_path, rows=ROWS, cache=shared_cache)
    ran = re.findall(r"user guide block (\d+ \(line \d+\))", result.stdout)
    assert result.returncode == 0, (
        f"{page.name} fails in its block {ran[-1] if ran else '?'}:\n"
        f"stdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-4000:]}"
    )
    assert len(ran) == script.count("print('user guide block ")
    loads = "load_clothing_reviews(" in script
    assert (f"gave the first {ROWS} reviews" in result.stdout) == loads
