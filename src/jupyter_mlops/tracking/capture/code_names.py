"""Which names a piece of notebook code reads and writes, in order, from its AST: what
a pipeline step takes and gives (the exporter) and which earlier cells a run depended on
(its closure).

A block's *inputs* are the names it reads before it binds them; its *writes* are the
names it binds or changes at the top level. The rules, chosen to match what the
notebook would have done:

- Assignment, ``for`` targets, ``with ... as``, ``except ... as``, ``:=``, ``import``,
  ``def`` and ``class`` bind names; ``del x`` unbinds ``x``.
- ``x += 1``, ``df["col"] = ...``, ``obj.attr = ...`` and ``del df["col"]`` read *and*
  write the root name (the value is changed in place and must travel on).
- ``obj.method(...)`` counts as a change of ``obj`` unless the method is known not to
  change its receiver (``head``, ``describe``, ``predict``, ``score``...) and is not
  called with ``inplace=True``: ``model.fit(X, y)`` makes the fitted model an output.
- Comprehensions, lambdas and function bodies have their own scopes: their loop
  variables and parameters are not read from outside; the free names they use are.
  ``global x`` inside a function that assigns ``x`` makes ``x`` a write.

    names = analyse_code("df = load(path)\\ndf['y'] = df.x * 2", cell_index=4)
    names.reads      # ('load', 'path')
    names.writes     # ('df',)
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from .scopes import comprehension_free_names, is_generator, parameters_of, scope_free_names

# Methods that return a new value and leave their receiver alone.
READ_ONLY_METHODS = frozenset(
    """
    head tail describe info copy groupby agg aggregate mean median mode sum prod std var sem
    min max count nunique unique value_counts corr cov quantile isna isnull notna notnull
    dropna fillna drop rename reset_index set_index sort_values sort_index astype merge join
    query filter select_dtypes sample pivot pivot_table melt stack unstack to_numpy to_dict
    to_list tolist to_csv to_parquet to_json to_frame to_string to_markdown to_pickle to_excel
    plot hist boxplot round abs clip map apply applymap replace where mask assign explode
    duplicated drop_duplicates shift diff pct_change cumsum cumprod rolling expanding ewm
    resample items keys values get format split rsplit strip lstrip rstrip lower upper title
    startswith endswith predict predict_proba predict_log_proba decision_function score
    transform inverse_transform get_params get_feature_names_out reshape ravel flatten dot
    all any argmax argmin argsort equals isin between nlargest nsmallest idxmax idxmin
    memory_usage squeeze pipe eval reindex align combine_first compare corrwith rank
    iterrows itertuples to_records tobytes to_period to_timestamp tz_convert tz_localize
    sparse summary summary_dict index find rfind encode decode hexdigest savefig
    """.split()
)  # fmt: skip

_PATH_LITERAL = re.compile(r"^(?!\w+://)[\w.~/\\-]*[\w-]\.[A-Za-z][A-Za-z0-9]{0,7}$")


@dataclass(frozen=True)
class Binding:
    """How a name was last bound: ``kind`` is value, call, def, class, lambda, generator,
    import, with, loop, exception or mutated; ``detail`` names the callee or context."""

    name: str
    kind: str
    detail: str
    line: int
    cell_index: int = 0


@dataclass(frozen=True)
class CodeNames:
    """What a block of code reads and writes; see the module docstring for the rules."""

    reads: tuple[str, ...]
    read_lines: tuple[tuple[str, int, int], ...]  # (name, cell index, line)
    writes: tuple[str, ...]
    deletes: tuple[str, ...]
    imports: tuple[str, ...]
    bindings: tuple[Binding, ...]
    import_statements: tuple[str, ...] = ()
    imported_modules: tuple[str, ...] = ()
    path_literals: tuple[str, ...] = ()
    logged_metrics: tuple[str, ...] = ()
    global_declared: tuple[str, ...] = ()
    defs: tuple[str, ...] = field(default=())

    def binding(self, name: str) -> Binding | None:
        return next((b for b in reversed(self.bindings) if b.name == name), None)

    def read_at(self, name: str) -> tuple[int, int]:
        """(cell index, line) where ``name`` is first read as an input."""
        return next(((cell, line) for n, cell, line in self.read_lines if n == name), (0, 1))


def analyse_code(source: str | ast.Module, *, cell_index: int = 0) -> CodeNames:
    """Reads, writes and bindings of ``source`` (Python text or a parsed module); a
    SyntaxError of the text is the caller's to handle.

    Example::

        analyse_code("x = x + 1").reads     # ('x',)
    """
    tree = ast.parse(source) if isinstance(source, str) else source
    return analyse_cells([(cell_index, tree)])


def analyse_cells(cells: list[tuple[int, ast.Module]]) -> CodeNames:
    """Like :func:`analyse_code` over several cells run one after the other."""
    visitor = _OrderedNames()
    for cell_index, tree in cells:
        visitor.cell = cell_index
        for statement in tree.body:
            visitor.visit(statement)
    return visitor.result()


def imported_top_modules(tree: ast.AST) -> set[str]:
    """Top-level module names imported anywhere in ``tree`` (``sklearn`` for
    ``from sklearn.ensemble import X``); relative imports are left out."""
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module.split(".")[0])
    return modules


def dotted_name(node: ast.AST) -> str:
    """``a.b.c`` for an attribute chain, the name for a Name, '' otherwise."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def root_name(node: ast.AST) -> str | None:
    """The name at the root of ``a.b[c].d``, or None when the root is not a name."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


class _OrderedNames(ast.NodeVisitor):
    """Walks top-level statements in execution order, tracking what is bound when."""

    def __init__(self) -> None:
        self.cell = 0
        self.bound: set[str] = set()
        self.reads: dict[str, tuple[int, int]] = {}
        self.writes: dict[str, None] = {}
        self.deleted: dict[str, None] = {}
        self.imports: dict[str, None] = {}
        self.bindings: list[Binding] = []
        self.import_statements: list[str] = []
        self.modules: set[str] = set()
        self.paths: dict[str, None] = {}
        self.metrics: dict[str, None] = {}
        self.global_declared: dict[str, None] = {}
        self.defs: dict[str, None] = {}
        self.generator_functions: set[str] = set()
        self.depth = 0  # > 0 inside compound statements

    def result(self) -> CodeNames:
        return CodeNames(
            reads=tuple(self.reads),
            read_lines=tuple((name, cell, line) for name, (cell, line) in self.reads.items()),
            writes=tuple(self.writes),
            deletes=tuple(self.deleted),
            imports=tuple(self.imports),
            bindings=tuple(self.bindings),
            import_statements=tuple(self.import_statements),
            imported_modules=tuple(sorted(self.modules)),
            path_literals=tuple(self.paths),
            logged_metrics=tuple(self.metrics),
            global_declared=tuple(self.global_declared),
            defs=tuple(self.defs),
        )

    # -- primitive events ---------------------------------------------------------------
    def load(self, name: str, line: int) -> None:
        if name not in self.bound and name not in self.reads:
            self.reads[name] = (self.cell, line)

    def store(self, name: str, kind: str, detail: str, line: int) -> None:
        self.bound.add(name)
        self.writes[name] = None
        self.deleted.pop(name, None)
        self.bindings.append(Binding(name, kind, detail, line, self.cell))

    def mutate(self, name: str, line: int) -> None:
        self.load(name, line)
        if name in self.imports:
            return  # configuring a module (np.random.seed) is not a value to pass on
        self.bound.add(name)
        self.writes[name] = None
        if not any(b.name == name for b in self.bindings):
            self.bindings.append(Binding(name, "mutated", "", line, self.cell))

    def delete(self, name: str, line: int) -> None:
        self.load(name, line)
        self.bound.discard(name)
        self.writes.pop(name, None)
        self.deleted[name] = None

    # -- statements ------------------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        kind, detail = self._value_kind(node.value)
        for target in node.targets:
            self.bind_target(target, kind, detail)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.annotation)
        if node.value is not None or not isinstance(node.target, ast.Name):
            kind, detail = self._value_kind(node.value) if node.value else ("value", "")
            self.bind_target(node.target, kind, detail)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self.load(node.target.id, node.lineno)
            self.visit(node.value)
            self.store(node.target.id, "value", "", node.lineno)
        else:
            self.visit(node.value)
            self.bind_target(node.target, "value", "")

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.bind_target(node.target, "loop", "")
        self._block(node.body + node.orelse)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                detail = ""
                if isinstance(item.context_expr, ast.Call):
                    detail = dotted_name(item.context_expr.func)
                self.bind_target(item.optional_vars, "with", detail)
        self._block(node.body)

    visit_AsyncWith = visit_With

    def visit_Try(self, node: ast.Try) -> None:
        self._block(node.body)
        for handler in node.handlers:
            if handler.type is not None:
                self.visit(handler.type)
            if handler.name:
                self.store(handler.name, "exception", "", handler.lineno)
            self._block(handler.body)
        self._block(node.orelse + node.finalbody)

    visit_TryStar = visit_Try

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        self._block(node.body + node.orelse)

    def visit_While(self, node: ast.While) -> None:
        self.visit(node.test)
        self._block(node.body + node.orelse)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            name = alias.asname or alias.name.split(".")[0]
            self.modules.add(alias.name.split(".")[0])
            self.imports[name] = None
            self.store(name, "import", alias.name, node.lineno)
        if self.depth == 0:
            self.import_statements.append(ast.unparse(node))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self.modules.add(node.module.split(".")[0])
        for alias in node.names:
            if alias.name == "*":
                continue
            name = alias.asname or alias.name
            self.imports[name] = None
            self.store(name, "import", f"{node.module}.{alias.name}", node.lineno)
        if self.depth == 0:
            self.import_statements.append(ast.unparse(node))

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._visit_arguments(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        free, global_stores = scope_free_names(node.body, parameters_of(node.args))
        for name in sorted(free):
            self.load(name, node.lineno)
        for name in sorted(global_stores):
            self.global_declared[name] = None
            self.store(name, "value", "", node.lineno)
        if is_generator(node):
            self.generator_functions.add(node.name)
        self.defs[node.name] = None
        self.store(node.name, "def", node.name, node.lineno)
        self._collect_literals(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(expression)
        free, global_stores = scope_free_names(node.body, set())
        for name in sorted(free):
            self.load(name, node.lineno)
        for name in sorted(global_stores):
            self.store(name, "value", "", node.lineno)
        self.defs[node.name] = None
        self.store(node.name, "class", node.name, node.lineno)
        self._collect_literals(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.delete(target.id, node.lineno)
            else:
                self.visit(target)
                root = root_name(target)
                if root:
                    self.mutate(root, node.lineno)

    def visit_Global(self, node: ast.Global) -> None:  # no effect at module level
        return None

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        return None

    # -- expressions -------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.load(node.id, node.lineno)
        elif isinstance(node.ctx, ast.Store):
            self.store(node.id, "value", "", node.lineno)
        else:
            self.delete(node.id, node.lineno)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        kind, detail = self._value_kind(node.value)
        self.store(node.target.id, kind, detail, node.lineno)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute):
            root = root_name(func.value)
            in_place = any(
                k.arg == "inplace" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in node.keywords
            )
            if root and (in_place or func.attr not in READ_ONLY_METHODS):
                self.mutate(root, node.lineno)
            if dotted_name(func) in ("mlops.log", "mlops.log_metrics"):
                for keyword in node.keywords:
                    if keyword.arg and keyword.arg != "step":
                        self.metrics[keyword.arg] = None

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_arguments(node.args)
        free, _ = scope_free_names([ast.Expr(node.body)], parameters_of(node.args))
        for name in sorted(free):
            self.load(name, node.lineno)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        # The first iterable is evaluated outside; the rest lives in its own scope.
        self.visit(node.generators[0].iter)
        free, walrus = comprehension_free_names(node)
        for name in sorted(free):
            self.load(name, node.lineno)
        for name in sorted(walrus):
            self.store(name, "value", "", node.lineno)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, str) and len(value) < 260 and _PATH_LITERAL.match(value):
            self.paths[value] = None

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.pattern is not None:
            self.visit(node.pattern)
        if node.name:
            self.store(node.name, "value", "", node.lineno)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.store(node.name, "value", "", node.lineno)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.generic_visit(node)
        if node.rest:
            self.store(node.rest, "value", "", node.lineno)

    def visit_Match(self, node: ast.Match) -> None:
        self.visit(node.subject)
        self.depth += 1
        for case in node.cases:
            self.visit(case.pattern)
            if case.guard is not None:
                self.visit(case.guard)
            for statement in case.body:
                self.visit(statement)
        self.depth -= 1

    # -- helpers ------------------------------------------------------------------------------
    def bind_target(self, target: ast.AST, kind: str, detail: str) -> None:
        if isinstance(target, ast.Name):
            self.store(target.id, kind, detail, target.lineno)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind_target(element, "value" if kind != "loop" else kind, detail)
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, kind, detail)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            # df["x"] = ... / obj.attr = ...: evaluate the parts, then df is changed.
            inner = target.value
            if isinstance(target, ast.Subscript):
                self.visit(target.slice)
            if not isinstance(inner, ast.Name):
                self.visit(inner)
            root = root_name(target)
            if root:
                self.mutate(root, target.lineno)

    def _block(self, statements: list[ast.stmt]) -> None:
        self.depth += 1
        for statement in statements:
            self.visit(statement)
        self.depth -= 1

    def _visit_arguments(self, args: ast.arguments) -> None:
        for default in [*args.defaults, *[d for d in args.kw_defaults if d is not None]]:
            self.visit(default)
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None and arg.annotation is not None:
                self.visit(arg.annotation)

    def _value_kind(self, value: ast.AST | None) -> tuple[str, str]:
        if isinstance(value, ast.Call):
            callee = dotted_name(value.func)
            if callee.split(".")[-1] in self.generator_functions:
                return "generator", callee
            return "call", callee
        if isinstance(value, ast.GeneratorExp):
            return "generator", "a generator expression"
        if isinstance(value, ast.Lambda):
            return "lambda", "lambda"
        return "value", ""

    def _collect_literals(self, node: ast.AST) -> None:
        for child in ast.walk(node):
            if isinstance(child, ast.Constant):
                self.visit_Constant(child)
            elif isinstance(child, ast.Call) and dotted_name(child.func) == "mlops.log":
                for keyword in child.keywords:
                    if keyword.arg and keyword.arg != "step":
                        self.metrics[keyword.arg] = None
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                self.modules.update(imported_top_modules(child))


_SPECIAL_LINE = re.compile(r"^(\s*)(?:([A-Za-z_][\w.,\s]*?)\s*=\s*)?[%!]")


def plain_python(source: str) -> str:
    """``source`` as Python that binds the same names, line for line, without IPython: a
    magic or shell line becomes ``pass``, an assignment of one (``x = %time f()``,
    ``files = !ls``) binds its target to None, a ``?`` help line becomes ``pass``; lines
    keep their indentation and their numbers."""
    plain = []
    for line in source.splitlines():
        special = _SPECIAL_LINE.match(line)
        if special:
            indent, target = special.group(1), special.group(2)
            plain.append(f"{indent}{target} = None" if target else f"{indent}pass")
        elif line.rstrip().endswith("?") and not line.lstrip().startswith("#"):
            plain.append(f"{line[: len(line) - len(line.lstrip())]}pass")
        else:
            plain.append(line)
    return "\n".join(plain)
