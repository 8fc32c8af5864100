"""skops' writer without the scan behind its reader's trust lists.

Importing `skops.io` builds the lists of types its loader trusts by default: it imports every public module of
scikit-learn (and pytest) to list its estimators, and looks up every numpy and scipy ufunc in every loaded module.
That is about half a second, in every process that touches skops. Writing a model reads none of those lists, so
the train stage imports skops' writer with the lists replaced by a stand-in that refuses to be read, dumps, and
forgets that import: the next `import skops.io` in the process (a load, with every check) is skops' own, complete.
A process that has already imported skops.io uses it as it is. Not thread-safe: call it from one thread (a stage).
"""

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

TRUST_LISTS = "skops.io._trusted_types"


def dumps(model: Any) -> bytes:
    """`skops.io.dumps(model)`: the same bytes, without building the loader's trust lists when they are not built."""
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"].dumps(model)
    with _trust_lists_unreadable():
        import skops.io

        return skops.io.dumps(model)


class Unreadable:
    """A trust list that was not built: any use of it for loading raises instead of trusting nothing or anything."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _refuse(self, *_: Any) -> Any:
        raise RuntimeError(
            f"skops' {self.name} was not built (ml_gitops.core.skops_writer): import skops.io to load"
        )

    __iter__ = __len__ = __contains__ = __getitem__ = __add__ = __radd__ = __bool__ = _refuse


def _stand_in_list(name: str) -> Unreadable:
    if name.startswith("__"):
        raise AttributeError(name)
    return Unreadable(name)


@contextmanager
def _trust_lists_unreadable() -> Iterator[None]:
    """While inside, skops.io imports with stand-in trust lists; on leaving, every skops.io module is forgotten."""
    stand_in = types.ModuleType(TRUST_LISTS)
    stand_in.__getattr__ = _stand_in_list  # type: ignore[attr-defined]  # a module's __getattr__ (PEP 562)
    sys.modules[TRUST_LISTS] = stand_in
    try:
        yield
    finally:
        for name in [name for name in sys.modules if name == "skops.io" or name.startswith("skops.io.")]:
            del sys.modules[name]
        if "skops" in sys.modules and hasattr(sys.modules["skops"], "io"):
            delattr(sys.modules["skops"], "io")
