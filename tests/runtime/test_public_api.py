import importlib.util
import subprocess
import sys

import pytest

import ferkit

NEEDS_TORCH = {"create_model", "train"}


@pytest.mark.parametrize("name", sorted(set(ferkit.__all__) - {"__version__"}))
def test_every_public_name_resolves(name):
    if name in NEEDS_TORCH and importlib.util.find_spec("torch") is None:
        pytest.skip("needs torch (the train extra)")
    public = getattr(ferkit, name)
    assert public is not None and name in dir(ferkit)
    # Its own docstring (a dataclass's generated signature does not count): what it takes and returns.
    assert public.__doc__ and not public.__doc__.startswith(f"{name}("), f"{name} has no docstring"


def test_every_lazy_name_is_exported_and_typed():
    """`__all__` (read by IDEs, mypy, `from ferkit import *`) names exactly the lazy names and the two eager ones,
    and each lazy name has its import under TYPE_CHECKING, so an IDE sees its real type, not Any."""
    source = open(ferkit.__file__).read()
    assert set(ferkit.__all__) == set(ferkit._PUBLIC) | {"FerkitError", "__version__"}
    checked = source[source.index("if TYPE_CHECKING:") : source.index("_PUBLIC = {")]
    assert all(f" as {name}\n" in checked for name in ferkit._PUBLIC)


def test_the_analyzers_public_methods_say_what_they_do():
    from ferkit.runtime.analyzer import Analyzer

    methods = [name for name in vars(Analyzer) if not name.startswith("_") and callable(getattr(Analyzer, name))]
    assert {"analyze", "analyze_path", "detect", "classify"} <= set(methods)
    assert [name for name in methods if not getattr(Analyzer, name).__doc__] == []


def test_the_public_api_loads_only_what_is_used():
    code = (
        "import sys, ferkit; light = 'cv2' not in sys.modules; ferkit.Analyzer; "
        "print(light, 'cv2' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "False"]


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Analyser'"):
        ferkit.Analyser  # noqa: B018
