"""The import arrows of DESIGN section 1, checked by walking every module's imports."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("backends", "funcgrad", "stax", "transforms")


def _imports(package: str) -> list[tuple[str, str]]:
    """(file, imported module) for every import statement in ``package``."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(ROOT)), node.module))
                found += [(str(path.relative_to(ROOT)), f"{node.module}.{a.name}") for a in node.names]
    return found


def _top(module: str) -> str:
    return module.split(".")[0]


def test_every_package_exists_and_is_scanned():
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").exists(), package
        assert _imports(package) or package in ("stax", "transforms"), package


def test_backends_never_imports_funcgrad_stax_or_transforms():
    bad = [(f, m) for f, m in _imports("backends") if _top(m) in ("funcgrad", "stax", "transforms")]
    assert not bad, bad


def test_funcgrad_never_imports_stax_or_transforms():
    bad = [(f, m) for f, m in _imports("funcgrad") if _top(m) in ("stax", "transforms")]
    assert not bad, bad


def test_stax_and_transforms_use_only_funcgrads_public_api():
    for package, sibling in (("stax", "transforms"), ("transforms", "stax")):
        for f, m in _imports(package):
            assert _top(m) != sibling, f"{f} imports {m}: stax and transforms are siblings"
            assert _top(m) != "backends", f"{f} imports {m}: only funcgrad talks to backends"
            assert "._src" not in m and not m.startswith("funcgrad._"), f"{f} imports private {m}"


def test_nothing_imports_cupy_at_module_level():
    """cupy may be imported only inside a function (the lazy CuPy backend factory)."""
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in tree.body:
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                assert not any(_top(n) in ("cupy", "cupyx") for n in names), path
