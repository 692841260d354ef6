"""Sphinx configuration of skfusion's documentation.

Build (warnings are errors, every cross-reference must resolve)::

    python -m sphinx -W --keep-going -n -b html docs docs/_build/html

Add ``-D plot_gallery=0`` to skip running the gallery's examples while
iterating on the text (their pages then show code without output).

Nothing is fetched from the network, at build time or when a page is opened:
the intersphinx inventories of scikit-learn, NumPy, pandas, joblib and
Python are
written from the installed packages (``_tools/inventories.py``), the theme's
icons and fonts are bundled with it, and math is shown as its LaTeX source
(``_tools/plain_math.py``) instead of loading MathJax.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_tools"))

# The gallery runs the examples inside this process: offline (the bundled
# MiniLM model, no Hub lookups), on two threads, Keras on its default backend.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ.setdefault(_var, "2")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
# the HTML repr's links in the gallery's output point into this build
os.environ.setdefault("SKFUSION_DOC_URL", "..")

import inventories  # noqa: E402  (docs/_tools, on the path above)

import skfusion  # noqa: E402

project = "skfusion"
author = "skfusion developers"
copyright = "2026, skfusion developers"
version = release = skfusion.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "sphinx_design",
    "plain_math",
]
# formulas as their LaTeX source: no MathJax from a CDN (_tools/plain_math.py)
html_math_renderer = "plain_math"

templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "_tools", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"

# -- autodoc / autosummary / numpydoc, as scikit-learn sets them ----------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- intersphinx, from inventories written here at build time -------------
intersphinx_mapping = inventories.write_all(HERE / "_build" / "inventories")
intersphinx_timeout = 1

# names that no local inventory holds: Keras', Pillow's and transformers'
# online docs are not laid out by object name, so no inventory can be
# written for them
nitpick_ignore = [
    ("py:func", "keras.saving.register_keras_serializable"),
    ("py:class", "PIL.Image.Image"),
    ("py:obj", "transformers.PreTrainedTokenizerBase.__call__"),
]


def _top_level_alias(app, env, node, contnode):
    """Resolve ``skfusion.<Name>``, a top-level re-export, to the object's
    canonical page ``skfusion.<subpackage>.<Name>`` (documented once)."""
    target = node.get("reftarget", "")
    module, _, name = target.rpartition(".")
    if node.get("refdomain") != "py" or module != "skfusion":
        return None
    canonical = skfusion._LAZY.get(name)
    if canonical is None:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], f"{canonical}.{name}", node, contnode
    )


def setup(app):
    app.connect("missing-reference", _top_level_alias)

# -- sphinx-gallery --------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # helpers that examples import (examples/_image_comparison.py) are no examples
    "ignore_pattern": r"(^|[\\/])_[^\\/]*\.py$",
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "reference_url": {"skfusion": None},
    "doc_module": ("skfusion",),
    "backreferences_dir": "api/generated/backreferences",
    "remove_config_comments": True,
    "show_memory": False,
    "show_signature": False,
    "download_all_examples": False,
    # its execution-times page loads DataTables and jQuery from CDNs
    "write_computation_times": False,
}

# -- HTML output -------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skfusion {version}"
html_static_path = ["_static"]
html_css_files = ["skfusion.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_end": ["theme-switcher", "navbar-icon-links"],
    "icon_links": [],
    "show_prev_next": False,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "light"}
