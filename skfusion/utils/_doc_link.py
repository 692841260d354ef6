"""Where an estimator's HTML repr links to: its page in skfusion's API docs.

scikit-learn's HTML repr (the diagram a notebook shows) puts a "?" link to
the estimator's documentation, built by ``BaseEstimator._get_doc_link`` from
three class attributes that are scikit-learn's private hooks:
``_doc_link_module`` (only classes of that top-level package get a link),
``_doc_link_template`` (a URL with ``{estimator_module}`` and
``{estimator_name}`` fields) and ``_doc_link_url_param_generator``. Checked
against scikit-learn 1.6 to 1.9; ``tests/test_docs_site.py`` fails if the
repr stops carrying the link.

The module filled in is the class's module up to its first private part,
``skfusion.fusion`` for ``skfusion.fusion._late_classifier``: the canonical
public path each estimator's API page is named after.
"""

import os

from .. import __version__

#: Where this version of skfusion's documentation is to be published (not
#: yet: build it with the README's docs command); the HTML repr
#: links to ``{DOC_URL}/api/generated/skfusion.<subpackage>.<Name>.html``.
#: The environment variable ``SKFUSION_DOC_URL`` overrides it when the link
#: is made (a local build, another host); the docs' own gallery sets it so
#: that its diagrams link into the same build.
DOC_URL = f"https://skfusion.readthedocs.io/en/{__version__}"


def doc_url():
    """The documentation's base URL, ``SKFUSION_DOC_URL`` if set, without a
    trailing slash."""
    return os.environ.get("SKFUSION_DOC_URL", DOC_URL).rstrip("/")


class DocLinkMixin:
    """Point the HTML repr's documentation link at skfusion's API pages.

    Comes before scikit-learn's ``BaseEstimator`` in the bases, whose
    ``_doc_link_template`` property it overrides; as scikit-learn's, an
    instance may be given a template of its own.
    """

    _doc_link_module = "skfusion"

    @property
    def _doc_link_template(self):
        return getattr(self, "_skfusion_doc_link_template",
                       doc_url() + "/api/generated/{estimator_module}.{estimator_name}.html")

    @_doc_link_template.setter
    def _doc_link_template(self, value):
        self._skfusion_doc_link_template = value
