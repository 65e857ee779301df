"""The shape of the code: layers point down, and each feature has its own room.

Read from the source tree, so a module added tomorrow is held to the same rules: ``core`` is
the ground and imports no app; the demo builder sits on top and no app imports it; a task
module imports services and no module imports a task module at load time (a service enqueues
through a lazy import on commit); and an app that holds several features keeps each in a
package of its own, never in prefixed files (``views_maps.py``) beside the others.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import networkx as nx
import pytest

import amniyat

SOURCE = Path(amniyat.__file__).resolve().parent
APPS = sorted(
    path.name
    for path in SOURCE.iterdir()
    if (path / "apps.py").exists() and path.name != "__pycache__"
)
# Every room an app or a feature package has; a file named after one of them with a suffix
# (``views_maps.py``) is a feature that is missing its package.
ROOMS = ("services", "selectors", "views", "forms", "urls", "api", "tasks", "policies")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in SOURCE.rglob("*.py")
        if "__pycache__" not in path.parts and "migrations" not in path.parts
    }


def _imported(node: ast.Import | ast.ImportFrom, module: str) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module if _modules()[module].name == "__init__.py" else module.rsplit(".", 1)[0]
        parent = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*parent, base] if base else parent)
    for alias in node.names:
        # ``from package import module`` imports the module; ``from module import name``
        # imports the module that holds the name.
        submodule = f"{base}.{alias.name}"
        yield submodule if submodule in _modules() else base


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, *, at_load_only: bool) -> set[str]:
    """The Amniyat modules ``module`` imports: all of them, or only those imported when it is
    loaded (not inside a function, nor under ``TYPE_CHECKING``)."""
    tree = ast.parse(_modules()[module].read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if at_load_only and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return
        if at_load_only and isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.update(name for name in _imported(node, module) if name.startswith("amniyat"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _app_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in APPS else None


def test_the_tree_is_read() -> None:
    """The checks below see the apps and their modules (a broken walk would pass them all)."""
    assert {"core", "accounts", "drivers", "fieldwork", "demo"} <= set(APPS)
    assert "amniyat.drivers.maps.services" in _modules()
    assert "amniyat.fieldwork.imports.tasks" in _modules()
    assert "amniyat.accounts.policies" in _imports(
        "amniyat.drivers.maps.services", at_load_only=True
    )


@pytest.mark.parametrize("module", sorted(m for m in _modules() if _app_of(m) == "core"))
def test_core_imports_no_other_app(module: str) -> None:
    others = {
        name for name in _imports(module, at_load_only=False) if _app_of(name) not in (None, "core")
    }
    assert not others, f"{module} imports {sorted(others)}: core is the ground"


def test_no_app_imports_the_demo() -> None:
    importers = {
        module: sorted(
            name for name in _imports(module, at_load_only=False) if _app_of(name) == "demo"
        )
        for module in _modules()
        if _app_of(module) != "demo"
    }
    assert {module: names for module, names in importers.items() if names} == {}


def test_no_module_imports_a_task_module_when_it_loads() -> None:
    """Tasks import services; a service enqueues through a lazy import on commit, and the
    worker finds a task by its dotted path. So no chain of imports made at load time leads
    from any module to a task module, and none can close a cycle through one."""
    graph = nx.DiGraph()
    for module in _modules():
        graph.add_node(module)
        graph.add_edges_from((module, name) for name in _imports(module, at_load_only=True))
    tasks = [m for m in _modules() if m.rsplit(".", 1)[-1] == "tasks"]
    assert "amniyat.findings.tasks" in tasks
    assert {task: sorted(nx.ancestors(graph, task)) for task in tasks} == {
        task: [] for task in tasks
    }
    for task in tasks:
        services = [name for name in _imports(task, at_load_only=True) if "services" in name]
        assert services, f"{task} calls no service"


def test_features_live_in_packages_not_prefixed_files() -> None:
    prefixed = re.compile(rf"^({'|'.join(ROOMS)})_\w+\.py$")
    offenders = sorted(
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*.py")
        if prefixed.match(path.name) and "migrations" not in path.parts
    )
    assert offenders == []


def _feature_packages() -> list[tuple[str, str]]:
    return sorted(
        (app, path.parent.name) for app in APPS for path in (SOURCE / app).glob("*/views.py")
    )


def test_the_feature_packages_are_found() -> None:
    found = set(_feature_packages())
    assert {("drivers", "maps"), ("drivers", "priorities"), ("fieldwork", "imports")} <= found


@pytest.mark.parametrize(("app", "feature"), _feature_packages())
def test_a_feature_has_its_rooms_and_its_own_templates(app: str, feature: str) -> None:
    package = SOURCE / app / feature
    for room in ("services", "views", "urls"):
        assert (package / f"{room}.py").exists(), f"{app}/{feature} has no {room}.py"
    template_names = {
        node.value
        for path in package.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.endswith(".html")
    }
    outside = {name for name in template_names if not name.startswith(f"{app}/{feature}/")}
    assert outside == set(), f"{app}/{feature} renders templates of another room: {outside}"
