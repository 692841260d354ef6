"""The documentation site: its API reference lists every public name, the
estimators' HTML diagrams link to their API pages, and a built site (at
docs/_build/html, from the README's docs command) is whole and offline.

The tests of the built site skip when it is not there; CI builds it and runs
this file again.
"""

import functools
import importlib
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from skfusion.utils import all_estimators
from skfusion.utils._doc_link import DOC_URL

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SITE = DOCS / "_build" / "html"
API_PAGES = SITE / "api" / "generated"

SUBPACKAGES = [
    "encoders",
    "fusion",
    "keras",
    "multitask",
    "inspection",
    "distributed",
    "datasets",
    "utils",
    "io",
]

needs_site = pytest.mark.skipif(
    not (SITE / "index.html").is_file(),
    reason="no built site at docs/_build/html (build it with the README's docs command)",
)


def _public_objects():
    """{canonical name: object} for every class and function the
    subpackages export; the top level only re-exports them."""
    found = {}
    for sub in SUBPACKAGES:
        module = importlib.import_module(f"skfusion.{sub}")
        for name in module.__all__:
            found[f"skfusion.{sub}.{name}"] = getattr(module, name)
    return found


def test_top_level_reexports_subpackage_objects():
    import skfusion

    canonical = {id(obj) for obj in _public_objects().values()}
    for name in skfusion.__all__:
        obj = getattr(skfusion, name)
        if name == "__version__" or type(obj).__name__ == "module":
            continue
        assert id(obj) in canonical, f"skfusion.{name} is not exported by a subpackage"


def _api_listing():
    """Canonical names the API reference's autosummary tables list."""
    text = (DOCS / "api" / "index.rst").read_text()
    listed = []
    module = None
    in_table = False
    for line in text.splitlines():
        if match := re.match(r"\.\. (?:module|currentmodule):: (\S+)", line):
            module = match.group(1)
        if line.startswith(".. autosummary::"):
            in_table = True
            continue
        if in_table:
            if line and not line.startswith(" "):
                in_table = False
            elif line.strip() and not line.strip().startswith(":"):
                listed.append(f"{module}.{line.strip()}")
    return listed


def test_api_reference_lists_every_public_name_once():
    listed = _api_listing()
    assert len(listed) == len(set(listed)), "a name is listed twice"
    assert set(listed) == set(_public_objects())


def _estimator_instances():
    # the small instances scikit-learn's checks run on, one per estimator
    from test_common import INSTANCES

    for name, cls in all_estimators():
        yield pytest.param(cls, INSTANCES[name](cls)[0], id=name)


def _expected_link(cls, base=DOC_URL):
    subpackage = cls.__module__.split(".")[1]
    return f"{base}/api/generated/skfusion.{subpackage}.{cls.__name__}.html"


@pytest.mark.parametrize("cls, estimator", list(_estimator_instances()))
def test_html_repr_links_to_the_api_page(cls, estimator, monkeypatch):
    monkeypatch.delenv("SKFUSION_DOC_URL", raising=False)
    link = _expected_link(cls)
    # the page the link names is the object's canonical one
    assert link.rpartition("/")[2][: -len(".html")] in _public_objects()
    assert f'href="{link}"' in estimator._repr_html_()
    monkeypatch.setenv("SKFUSION_DOC_URL", "https://example.org/docs/")
    assert f'href="{_expected_link(cls, "https://example.org/docs")}"' in estimator._repr_html_()


def test_an_instance_may_link_elsewhere():
    """As scikit-learn's, the template can be set on one estimator."""
    from skfusion.encoders import TabularEncoder

    encoder = TabularEncoder()
    encoder._doc_link_template = "https://example.org/{estimator_name}.html"
    assert 'href="https://example.org/TabularEncoder.html"' in encoder._repr_html_()
    assert f'href="{_expected_link(TabularEncoder)}"' in TabularEncoder()._repr_html_()


@needs_site
def test_built_api_pages_match_public_names():
    pages = {p.stem for p in API_PAGES.glob("*.html")}
    assert pages == set(_public_objects())


@needs_site
def test_built_estimator_pages_exist_where_the_repr_links():
    for _, cls in all_estimators():
        page = Path(_expected_link(cls, str(SITE)))
        assert page.is_file(), page
        # the class template's methods table, linking to fit's entry
        html = page.read_text(encoding="utf-8")
        assert 'class="rubric">Methods' in html, page
        assert f'href="#{page.stem}.fit"' in html, page


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()
        self.links = []  # (tag, attribute, value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key) and (key == "id" or tag == "a"):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key) is not None:
                rel = attrs.get("rel") or ""
                self.links.append((tag, key, attrs[key], rel))


@functools.lru_cache(maxsize=None)
def _parse(path):
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


_INLINE_REMOTE = re.compile(
    r"""(?:url\(\s*['"]?|@import\s+['"]?|srcset\s*=\s*"[^"]*?)((?:https?:)?//[^\s)'",]+)""")


@needs_site
def test_built_site_links_resolve_and_nothing_loads_from_the_network():
    broken, remote = [], []
    # _static holds the theme's template fragments, not pages
    pages = [p for p in SITE.rglob("*.html") if "_static" not in p.relative_to(SITE).parts]
    for path in sorted(pages):
        page = _parse(path)
        for tag, key, value, rel in page.links:
            parts = urlsplit(value)
            is_resource = tag in ("script", "img", "iframe", "source", "video", "audio") or (
                tag == "link" and rel not in ("canonical", "index", "search", "next", "prev")
            )
            if parts.scheme in ("http", "https") or value.startswith("//"):
                if is_resource:
                    remote.append(f"{path.relative_to(SITE)}: <{tag} {key}={value}>")
                continue
            if parts.scheme == "file":  # this machine's path: broken once hosted
                broken.append(f"{path.relative_to(SITE)}: {value} (a file: link)")
                continue
            if parts.scheme:  # mailto:, data:, javascript:
                continue
            target = (path.parent / unquote(parts.path) if parts.path else path).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_relative_to(SITE.resolve()):
                broken.append(f"{path.relative_to(SITE)}: {value} (outside the site)")
                continue
            if not target.is_file():
                broken.append(f"{path.relative_to(SITE)}: {value}")
                continue
            fragment = unquote(parts.fragment)
            if fragment and not fragment.startswith(":~:") and target.suffix == ".html":
                if fragment not in _parse(target).ids:
                    broken.append(f"{path.relative_to(SITE)}: {value} (no such anchor)")
        # inline styles and responsive images: url(...), @import, srcset
        for url in _INLINE_REMOTE.findall(path.read_text(encoding="utf-8", errors="replace")):
            remote.append(f"{path.relative_to(SITE)}: {url}")
    for css in SITE.rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", css.read_text(errors="replace")):
            remote.append(f"{css.relative_to(SITE)}: url({url})")
    assert not broken, "\n".join(broken[:50])
    assert not remote, "\n".join(remote[:50])


@needs_site
def test_built_site_has_the_sections():
    for page in ("index.html", "api/index.html", "changelog.html", "user_guide/index.html", "auto_examples/index.html"):
        assert (SITE / page).is_file(), page
    assert os.path.getsize(SITE / "objects.inv") > 0
