"""numpydoc validation of every public class, method and function.

The API pages are generated from these docstrings, so each public object must
pass numpydoc's validation for the codes in ``CHECKS``: a code is listed only
once no object reports it, and the list only grows.
"""

import importlib
import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

SUBPACKAGES = (
    "encoders",
    "fusion",
    "keras",
    "multitask",
    "inspection",
    "distributed",
    "datasets",
    "utils",
    "io",
)

CHECKS = {
    "GL08",  # the object has a docstring
    "PR01",  # every parameter is documented
    "PR02",  # no documented parameter that does not exist
    "RT01",  # a Returns section where something is returned
    "SA01",  # a See Also section
    "EX01",  # an Examples section
    # layout: where the text starts and ends, blank lines, tabs, known
    # sections in numpydoc's order, reST directives
    "GL01", "GL02", "GL03", "GL05", "GL06", "GL07", "GL09", "GL10",
    # a summary line that ends with a period
    "SS01", "SS03", "SS04",
    # parameters in signature order, their types and descriptions well formed
    "PR03", "PR05", "PR06", "PR07", "PR08", "PR10",
    # return descriptions capitalised and ending with a period, Yields for generators
    "RT04", "RT05", "YD01",
    # every See Also entry described, ending with a period
    "SA02", "SA04",
}


def _is_method_or_property(cls, name):
    raw = inspect.getattr_static(cls, name)
    if isinstance(raw, (property, classmethod, staticmethod)):
        return True
    return inspect.isfunction(getattr(cls, name, None))


def _defining_class(cls, name):
    return next(klass for klass in cls.__mro__ if name in vars(klass))


def _public_targets():
    """Canonical dotted names of the public objects, each object once."""
    seen = set()
    names = []
    for subpackage in SUBPACKAGES:
        prefix = f"skfusion.{subpackage}"
        module = importlib.import_module(prefix)
        for name in module.__all__:
            obj = getattr(module, name)
            if name == "__version__" or inspect.ismodule(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            names.append(f"{prefix}.{name}")
            if not inspect.isclass(obj):
                continue
            for attr in sorted(dir(obj)):
                if attr.startswith("_") or (attr.startswith("set_") and attr.endswith("_request")):
                    continue
                owner = _defining_class(obj, attr)
                if owner.__module__.split(".")[0] != "skfusion":
                    continue
                if _is_method_or_property(obj, attr):
                    names.append(f"{prefix}.{name}.{attr}")
    return names


TARGETS = _public_targets()


def test_targets_cover_the_public_api():
    assert "skfusion.fusion.LateFusionClassifier" in TARGETS
    assert "skfusion.fusion.LateFusionClassifier.fit" in TARGETS
    assert "skfusion.io.load" in TARGETS
    # scikit-learn's own methods and generated routing requests are not ours
    assert "skfusion.fusion.LateFusionClassifier.score" not in TARGETS
    assert "skfusion.encoders.TabularEncoder.get_params" not in TARGETS
    # a method a skfusion base class defines counts for each subclass
    assert "skfusion.fusion.EarlyFusionRegressor.get_params" in TARGETS
    assert not any(name.endswith("_request") and ".set_" in name for name in TARGETS)
    assert len(TARGETS) == len(set(TARGETS))


@pytest.mark.parametrize("name", TARGETS)
def test_docstring_validates(name):
    result = numpydoc_validate.validate(name)
    errors = [f"{code}: {message}" for code, message in result["errors"] if code in CHECKS]
    assert not errors, f"{name}:\n" + "\n".join(errors)
