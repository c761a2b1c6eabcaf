"""The shape of the package, checked on the installed code: the core imports no face on
any code path, the package's modules import each other without cycles, the faces and
the exporter hold no SQL, and every concept of DESIGN.md is a package with a docstring
that says what it owns.

Imports are read from the source with :mod:`ast`, function bodies included: a lazy
``import ipywidgets`` inside a core function counts as much as one at the top.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.every_python  # what differs from one Python to the next

PACKAGE = "jupyter_mlops"
FACES = ("magics", "widgets", "cli", "server")
# Reads notebooks and writes pipelines: may use nbformat and nbconvert, is used by the
# faces, and is never imported by the core (the runner included).
NOTEBOOK_SIDE = ("export", "reproduce")  # see NOTEBOOK_SIDE_ALLOWS
JUPYTER = (
    "IPython",
    "ipywidgets",
    "ipykernel",
    "jupyter_client",
    "tornado",
    "jupyter_server",
    "jupyterlab",
    "nbconvert",
    "nbclient",
    "nbformat",
    "traitlets",
)
# What the notebook side may use besides the core (IPython only to recognise its syntax);
# reproduce also runs notebooks in kernels of its own.
NOTEBOOK_SIDE_ALLOWS = {
    "export": ("nbformat", "nbconvert", "traitlets", "IPython"),
    "reproduce": ("nbformat", "nbclient", "jupyter_client", "traitlets", "IPython"),
}
CONCEPTS = (
    "registry",
    "tracking",
    "snapshots",
    "models",
    "gates",
    "drift",
    "serving",
    "export",
    "reproduce",
    "runner",
    "serving",
    "sharing",
    "magics",
    "widgets",
    "cli",
    "server",
)
ROOT_MODULES = {"__init__", "_version", "errors", "api"}


@dataclass(frozen=True)
class Import:
    """One import statement of a module: what it names, where, and whether it runs."""

    module: str  # the importing module
    target: str  # an absolute module name (for `from x import y`, x.y when y is a module)
    line: int
    type_only: bool  # inside `if TYPE_CHECKING:`


def package_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


def modules(root: Path | None = None) -> dict[str, Path]:
    """Every module of the package (the built panel's files are not Python)."""
    root = root or package_dir()
    found = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).with_suffix("")
        parts = [PACKAGE, *relative.parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                inside.update(id(sub) for sub in ast.walk(child))
    return inside


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[Import]:
    """Every import in ``path`` (module ``name``), function bodies included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    type_only = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno, id(node) in type_only)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                target = submodule if submodule in known else source
                yield Import(name, target, node.lineno, id(node) in type_only)


def all_imports(root: Path | None = None) -> list[Import]:
    found = modules(root)
    return [imp for name, path in found.items() for imp in imports_of(name, path, set(found))]


def concept_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def boundary_violations(imports: list[Import]) -> list[str]:
    """What the core and the notebook side import that they must not."""
    problems = []
    for imp in imports:
        concept = concept_of(imp.module)
        if concept in FACES:
            continue
        top = imp.target.split(".")[0]
        inner = concept_of(imp.target) if top == PACKAGE else ""
        if concept in NOTEBOOK_SIDE:
            forbidden_third_party = top in JUPYTER and top not in NOTEBOOK_SIDE_ALLOWS[concept]
            forbidden_inner = inner in FACES
        else:
            forbidden_third_party = top in JUPYTER
            forbidden_inner = inner in FACES or inner in NOTEBOOK_SIDE
        if forbidden_third_party or forbidden_inner:
            problems.append(f"{imp.module}:{imp.line} imports {imp.target}")
    return problems


def import_cycles(imports: list[Import]) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if imp.type_only or not imp.target.startswith(PACKAGE):
            continue
        if imp.target != imp.module:
            graph.setdefault(imp.module, set()).add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


# What reads or writes the registry's tables, wherever it is spelled: an SQL statement in a
# string, or a call that runs one on a registry, a connection or a cursor.
# DELETE only as SQL says it (DELETE FROM): alone it is also the HTTP method of a route.
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE(?=\s+FROM))\b")
SQL_CALLS = frozenset(
    ("query", "query_one", "query_tuples", "execute", "executemany", "executescript", "cursor")
)


def sql_in(name: str, path: Path) -> list[str]:
    """Each SQL statement or SQL call in module ``name``, as ``module:line what``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = SQL_WORDS.search(node.value)
            if match:
                found.append(f"{name}:{node.lineno} {match.group(1)} in a string")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_CALLS
        ):
            found.append(f"{name}:{node.lineno} calls .{node.func.attr}()")
    return sorted(set(found), key=_by_line)


def _by_line(problem: str) -> tuple[str, int, str]:
    where, _, what = problem.partition(" ")
    module, _, line = where.rpartition(":")
    return module, int(line), what


def sql_outside_the_core(root: Path | None = None) -> list[str]:
    """SQL in the faces and the exporter: they read the registry through the core's readers."""
    return [
        problem
        for name, path in modules(root).items()
        if concept_of(name) in (*FACES, *NOTEBOOK_SIDE)
        for problem in sql_in(name, path)
    ]


# -- the package as installed ------------------------------------------------------------------


def test_the_core_imports_no_face_on_any_code_path() -> None:
    assert boundary_violations(all_imports()) == []


def test_no_module_imports_itself_through_others() -> None:
    assert import_cycles(all_imports()) == []


def test_the_faces_and_the_exporter_hold_no_sql() -> None:
    assert sql_outside_the_core() == []


def test_every_concept_is_a_package_that_says_what_it_owns() -> None:
    root = package_dir()
    for concept in CONCEPTS:
        init = root / concept / "__init__.py"
        assert init.is_file(), f"{concept}/ is not a package"
        docstring = ast.get_docstring(ast.parse(init.read_text()))
        assert docstring and len(docstring) > 40, f"{concept}/__init__.py says nothing"


def test_the_package_root_holds_only_the_api_the_hooks_the_version_and_the_errors() -> None:
    root = package_dir()
    assert {path.stem for path in root.glob("*.py")} == ROOT_MODULES


def _is_all(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["__all__"]


def test_package_inits_hold_no_code() -> None:
    """A package's ``__init__`` is its docstring and at most re-exports (faces, which
    register their commands, aside); the root's is the lazy table of public names."""
    for name, path in modules().items():
        if path.name != "__init__.py" or name == PACKAGE or concept_of(name) in FACES:
            continue
        tree = ast.parse(path.read_text())
        code = [
            node
            for node in tree.body
            if not isinstance(node, (ast.Expr, ast.ImportFrom)) and not _is_all(node)
        ]
        assert code == [], f"{name} holds code: {[ast.unparse(n)[:60] for n in code]}"


# -- the checks themselves can fail ------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / PACKAGE / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / PACKAGE


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # a lazy widget import inside a core function (how the drift report once showed)
            {"drift/store.py": "def show():\n    from ..widgets.drift import DriftView\n"},
            ["jupyter_mlops.drift.store:2 imports jupyter_mlops.widgets.drift"],
        ),
        (  # the package root importing the server face at import time
            {"__init__.py": "from .server import _jupyter_server_extension_points\n"},
            ["jupyter_mlops:1 imports jupyter_mlops.server"],
        ),
        (  # a third-party Jupyter import in a function body of the core
            {"tracking/run.py": "def f():\n    import IPython\n"},
            ["jupyter_mlops.tracking.run:2 imports IPython"],
        ),
        (  # the runner must not need the exporter
            {"runner/step.py": "from ..export import api\n"},
            ["jupyter_mlops.runner.step:1 imports jupyter_mlops.export.api"],
        ),
        (  # the exporter may read notebooks but not serve them
            {"export/api.py": "import nbformat\nimport tornado.web\n"},
            ["jupyter_mlops.export.api:2 imports tornado.web"],
        ),
        (  # faces may import anything
            {"magics/base.py": "import IPython\nfrom ..widgets import base\n"},
            [],
        ),
    ],
)
def test_boundary_check_names_each_forbidden_import(
    tmp_path: Path, files: dict[str, str], expected: list[str]
) -> None:
    files = {"__init__.py": "", **files}
    for relative in list(files):
        parts = Path(relative).parts[:-1]
        for depth in range(1, len(parts) + 1):
            files.setdefault(str(Path(*parts[:depth]) / "__init__.py"), "")
    for concept in ("widgets", "server", "export"):
        files.setdefault(f"{concept}/__init__.py", "")
    files.setdefault("widgets/drift.py", "")
    files.setdefault("export/api.py", "")
    root = _write(tmp_path, files)
    assert boundary_violations(all_imports(root)) == expected


def test_cycle_check_finds_a_cycle_through_a_lazy_import(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "tracking/__init__.py": "",
            "tracking/run.py": "from .session import forget\n",
            "tracking/session.py": "def start():\n    from .run import Run\n",
            "tracking/values.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from .run import Run\n",
        },
    )
    assert import_cycles(all_imports(root)) == [
        ["jupyter_mlops.tracking.run", "jupyter_mlops.tracking.session"]
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a count in a magic (how %mlops status once read the registry)
            'def status(registry):\n    return registry.query_one("SELECT COUNT(*) FROM runs")\n',
            [
                "jupyter_mlops.magics.runs:2 SELECT in a string",
                "jupyter_mlops.magics.runs:2 calls .query_one()",
            ],
        ),
        (  # a statement built in an f-string
            'def f(table):\n    sql = f"DELETE FROM {table}"\n',
            ["jupyter_mlops.magics.runs:2 DELETE in a string"],
        ),
        (  # a write on the raw connection, no SQL word in sight
            "def f(registry, sql):\n    registry.conn.execute(sql)\n",
            ["jupyter_mlops.magics.runs:2 calls .execute()"],
        ),
        (  # words in a message are not SQL
            'HELP = "Select a run, then update the alias with %mlops promote"\n',
            [],
        ),
    ],
)
def test_sql_check_names_each_statement_and_call(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "magics/__init__.py": "",
            "magics/runs.py": text,
            "tracking/__init__.py": "",
            "tracking/queries.py": 'SQL = "SELECT id FROM runs"\n',  # the core may
        },
    )
    assert sql_outside_the_core(root) == expected


def test_sql_check_covers_the_exporter(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "export/__init__.py": "",
            "export/source_run.py": 'def f(r):\n    return r.query("SELECT id FROM runs")\n',
        },
    )
    assert sql_outside_the_core(root) == [
        "jupyter_mlops.export.source_run:2 SELECT in a string",
        "jupyter_mlops.export.source_run:2 calls .query()",
    ]
