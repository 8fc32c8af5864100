"""skops' loader without the scans behind three of its default trust lists, deciding exactly as skops would.

Importing `skops.io` builds the lists of types its loader trusts by default. Three of them are scans:
- every scikit-learn estimator: `all_estimators()` imports every public module of scikit-learn;
- every numpy ufunc, and every scipy ufunc: each is looked up in every loaded module.
Together they take half a second to a second, in every process that loads a model (evaluate, serve, score, the
report, the monitor).

Here skops.io is imported with those three lists empty and every other list skops' own, built by skops' own code.
Each type a file holds that they would have trusted is then either:
- named by the caller (files.load_model trusts skops' defaults and exactly those names), or
- a scikit-learn estimator that `all_estimators()` provably lists: the public class of that name in a public module
  of scikit-learn, a non-abstract BaseEstimator. This is checked by importing that one module.
Any other type sends the load to skops' own, complete lists. So a file is trusted only when skops would trust it,
and refused only by skops itself.

The imported skops.io modules are forgotten afterwards, so the process's next `import skops.io` is skops' own. A
process that has already imported skops.io uses it as it is. Loads are serialised: a lock guards the modules.
"""

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import types
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TRUST_LISTS = "skops.io._trusted_types"
SCANNED = ("SKLEARN_ESTIMATOR_TYPE_NAMES", "NUMPY_UFUNC_TYPE_NAMES", "SCIPY_UFUNC_TYPE_NAMES")
_LOCK = threading.RLock()


class Unreadable(Exception):
    """skops could not read the file's types (a damaged or foreign archive); the message is skops' error."""


def untrusted_then_load(source: Path, check: Callable[[list[str]], None]) -> Any:
    """`check(skops.io.get_untrusted_types(file=source))`, then `skops.io.load(source, trusted=those types)`, as skops'
    own lists decide. Unreadable when skops cannot read the types; what `check` and skops.io.load raise, as it is,
    always from skops' complete lists."""
    with _LOCK:
        if "skops.io" not in sys.modules:
            try:
                with _unscanned_skops() as skops_io:
                    return _load(skops_io, source, _without_listed_estimators(check))
            except Exception:  # noqa: BLE001 - anything the short path cannot show goes to skops' complete lists
                pass
        import skops.io

        return _load(skops.io, source, check)


def untrusted_types(source: Path) -> list[str]:
    """`skops.io.get_untrusted_types(file=source)` by skops' complete lists, never beside a load's short path."""
    with _LOCK:
        import skops.io

        return skops.io.get_untrusted_types(file=source)


def _load(skops_io: types.ModuleType, source: Path, check: Callable[[list[str]], None]) -> Any:
    """skops.io.get_untrusted_types, `check`, then skops.io.load(trusted=those types), as skops' own functions do
    them, with the file's tree of nodes built once: each of those functions builds it (reading every array of the
    file), which was half of every model load. skops.io.load builds its tree with the trusted types and refuses what
    audit_tree finds beyond them; the tree built with none is the same tree, whose untrusted types are exactly those
    (so its audit passes for the same files), and it is constructed after the same audit."""
    persist = skops_io._persist  # noqa: SLF001 - load's own steps: read_schema, get_tree, audit_tree
    with contextlib.ExitStack() as stack:
        try:
            archive = stack.enter_context(zipfile.ZipFile(source, "r"))
            schema, load_context = persist.read_schema(archive)
            tree = persist.get_tree(schema, load_context, trusted=None)
            untrusted = sorted(tree.get_unsafe_set())
        except Exception as error:  # noqa: BLE001 - skops raises several types for damaged archives
            raise Unreadable(str(error)) from error
        check(untrusted)
        persist.audit_tree(tree, trusted=untrusted)
        return tree.construct()


def _without_listed_estimators(check: Callable[[list[str]], None]) -> Callable[[list[str]], None]:
    """`check`, given the types the unscanned lists leave untrusted less the estimators all_estimators() provably
    lists. Whatever it refuses, skops' complete lists judge again."""
    return lambda untrusted: check([name for name in untrusted if not listed_by_all_estimators(name)])


def listed_by_all_estimators(name: str) -> bool:
    """True only if scikit-learn's `all_estimators()` lists the class skops names `name`, so that skops trusts it by
    default. It imports one public module of scikit-learn, not all of them. False means "not shown", never "not
    listed"."""
    from sklearn.base import BaseEstimator
    from skops.io._utils import get_type_name

    module_name, _, class_name = name.rpartition(".")
    public = _walked_module(module_name)
    if public is None or class_name.startswith("_") or class_name == "BaseEstimator":
        return False
    found = getattr(public, class_name, None)
    return (
        isinstance(found, type)
        and issubclass(found, BaseEstimator)
        and not getattr(found, "__abstractmethods__", None)
        and get_type_name(found) == name
    )


def _walked_module(module_name: str) -> types.ModuleType | None:
    """The module of scikit-learn that `module_name` (sklearn.a.b._c) is exported from (sklearn.a.b), when
    all_estimators() walks it: a module on disk in scikit-learn's packages, no part of its name private or ignored."""
    import sklearn
    from sklearn.utils import discovery

    parts = module_name.split(".")
    kept = parts[: next((at for at, part in enumerate(parts) if part.startswith("_")), len(parts))]
    ignored = set(getattr(discovery, "_MODULE_TO_IGNORE", kept))
    if len(kept) < 2 or kept[0] != "sklearn" or ignored & set(kept):
        return None
    try:
        module = importlib.import_module(".".join(kept))
        root = Path(sklearn.__file__).resolve().parent
        where = Path(module.__spec__.origin).resolve().relative_to(root)
    except (ImportError, AttributeError, TypeError, ValueError):
        return None
    package = where.name.startswith("__init__.")
    names = [*where.parts[:-1], *([] if package else [where.name.split(".")[0]])]
    packages = [root.joinpath(*names[:end]) for end in range(1, len(names) + (1 if package else 0))]
    on_disk = all((folder / "__init__.py").is_file() for folder in packages)
    return module if names == kept[1:] and on_disk else None


@contextmanager
def _unscanned_skops() -> Iterator[types.ModuleType]:
    """skops.io, its trust lists built by its own module with the scans finding nothing; on leaving, every skops.io
    module is forgotten."""
    finder = _WithoutScans()
    sys.meta_path.insert(0, finder)
    try:
        import skops.io

        yield skops.io
    finally:
        sys.meta_path.remove(finder)
        for name in [name for name in sys.modules if name == "skops.io" or name.startswith("skops.io.")]:
            del sys.modules[name]
        if "skops" in sys.modules and hasattr(sys.modules["skops"], "io"):
            delattr(sys.modules["skops"], "io")


class _WithoutScans(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports skops' own _trusted_types module while all_estimators() and its ufunc search find nothing."""

    def find_spec(self, name, path, target=None):  # noqa: ANN001, ANN201 - importlib's protocol
        if name != TRUST_LISTS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        self.loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec):  # noqa: ANN001, ANN201
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        import sklearn.utils

        utils = sys.modules["skops.io._utils"]
        saved = sklearn.utils.all_estimators, utils.get_public_type_names
        sklearn.utils.all_estimators = utils.get_public_type_names = lambda *_, **__: []
        try:
            self.loader.exec_module(module)
        finally:
            sklearn.utils.all_estimators, utils.get_public_type_names = saved
