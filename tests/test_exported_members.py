"""Each public package's `__all__` is exactly what it exposes, and every name in it resolves.

As httpx's tests/test_exported_members.py: the names a package's `__init__.py` binds without a leading
underscore (classes and functions it defines, constants it assigns, names it re-exports from its own
modules) are its public surface, so each one must be in `__all__`, and nothing else may be. Names it
imports from elsewhere (the standard library, third parties, another clearsite package) for its own
use are not part of its surface: callers take those from where they live.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src"
PACKAGE_ROOT = SOURCE / "clearsite"

# The packages callers import from; each must declare its surface. Any other package that declares
# `__all__` is held to it too.
PUBLIC_PACKAGES = [
    "clearsite.core",
    "clearsite.core.identify",
    "clearsite.core.assess",
    "clearsite.core.screen",
    "clearsite.core.plan",
    "clearsite.core.knowledge",
    "clearsite.formats",
    "clearsite.formats.scans",
    "clearsite.discover",
    "clearsite.sim",
]


def package_name(init: Path) -> str:
    return ".".join(init.parent.relative_to(SOURCE).parts)


def declares_all(init: Path) -> bool:
    tree = ast.parse(init.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.Assign | ast.AnnAssign) and "__all__" in bound_names(node) for node in tree.body)


def checked_packages() -> list[str]:
    declared = {package_name(init) for init in PACKAGE_ROOT.rglob("__init__.py") if declares_all(init)}
    return sorted(set(PUBLIC_PACKAGES) | declared)


def bound_names(node: ast.stmt, package: str = "") -> list[str]:
    """The module-level names one top-level statement binds (imports only from the package's own modules)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [node.target.id]
    if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith(f"{package}.")):
        return [alias.asname or alias.name for alias in node.names]
    return []


def top_level(tree: ast.Module) -> list[ast.stmt]:
    """The module's top-level statements, with those of an `if TYPE_CHECKING:` block when the module
    also has a module-level `__getattr__`: names loaded lazily on first use (PEP 562) are exposed too."""
    lazy = any(isinstance(node, ast.FunctionDef) and node.name == "__getattr__" for node in tree.body)
    statements: list[ast.stmt] = []
    for node in tree.body:
        if lazy and isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            statements.extend(node.body)
        else:
            statements.append(node)
    return statements


def exposed_names(package: str) -> set[str]:
    """What the package's __init__.py binds at its top level without a leading underscore."""
    init = SOURCE.joinpath(*package.split("."), "__init__.py")
    tree = ast.parse(init.read_text(encoding="utf-8"))
    return {name for node in top_level(tree) for name in bound_names(node, package) if not name.startswith("_")}


def imported_names(package: str) -> set[str]:
    """Every name the package's __init__.py imports at its top level: it may re-export any of them."""
    init = SOURCE.joinpath(*package.split("."), "__init__.py")
    tree = ast.parse(init.read_text(encoding="utf-8"))
    return {alias.asname or alias.name.split(".")[0] for node in top_level(tree)
            if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names}


@pytest.mark.parametrize("package", checked_packages())
def test_all_lists_exactly_what_the_package_exposes(package: str) -> None:
    module = importlib.import_module(package)
    assert hasattr(module, "__all__"), f"{package} declares no __all__"
    declared = list(module.__all__)
    assert len(declared) == len(set(declared)), f"{package}.__all__ repeats a name"
    surface = exposed_names(package)
    assert surface <= set(declared), f"{package}: public but missing from __all__: {sorted(surface - set(declared))}"
    # A name imported from elsewhere may be re-exported on purpose (an old home kept working).
    stray = set(declared) - surface - imported_names(package)
    assert not stray, f"{package}.__all__ names what the package neither defines nor imports: {sorted(stray)}"


@pytest.mark.parametrize("package", checked_packages())
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names what it does not have: {missing}"


def test_the_list_of_public_packages_names_real_packages() -> None:
    for package in PUBLIC_PACKAGES:
        assert SOURCE.joinpath(*package.split("."), "__init__.py").is_file(), package
