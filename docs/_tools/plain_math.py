"""An HTML math renderer that loads nothing: the LaTeX source, as text.

Sphinx renders math with MathJax from a CDN by default, and the pages must
not load anything from the network. skfusion's own docstrings hold no math;
the formulas on the site come from scikit-learn docstrings that the
estimators inherit (``score``'s :math:`R^2`), short enough to read as
source.
"""

from docutils import nodes


def _visit_math(translator, node):
    translator.body.append(translator.starttag(node, "span", "", CLASS="math notranslate"))
    translator.body.append(translator.encode(node.astext()) + "</span>")
    raise nodes.SkipNode


def _visit_math_block(translator, node):
    translator.body.append(translator.starttag(node, "div", CLASS="math notranslate"))
    translator.body.append(translator.encode(node.astext()) + "</div>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer(
        "plain_math", (_visit_math, None), (_visit_math_block, None)
    )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
