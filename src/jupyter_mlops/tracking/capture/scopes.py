"""Scopes inside notebook code: the free names of functions, lambdas, classes and
comprehensions, following Python's rules (a name assigned anywhere in a function is
local to all of it unless declared ``global`` or ``nonlocal``).

    scope_free_names(ast.parse("def f(a):\n    return a + b").body[0].body, {"a"})
    # ({'b'}, set())
"""

from __future__ import annotations

import ast
from collections.abc import Iterator


def parameters_of(args: ast.arguments) -> set[str]:
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    return names


def is_generator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for child in walk_scope(node.body):
        if isinstance(child, (ast.Yield, ast.YieldFrom)):
            return True
    return False


def walk_scope(statements: list[ast.stmt]) -> Iterator[ast.AST]:
    """Nodes of one scope, not descending into nested functions, lambdas or classes."""
    stack: list[ast.AST] = list(reversed(statements))
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                yield child  # the nested scope node itself, not its body
                continue
            stack.append(child)


def scope_free_names(body: list[ast.stmt], parameters: set[str]) -> tuple[set[str], set[str]]:
    """Free names of a function (or class) body, and the names it assigns after
    declaring them ``global``. Python's rule: a name assigned anywhere in a scope is
    local to the whole scope unless declared global or nonlocal."""
    local = set(parameters)
    loads: set[str] = set()
    declared_global: set[str] = set()
    declared_nonlocal: set[str] = set()
    for node in walk_scope(body):
        if isinstance(node, ast.Global):
            declared_global.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            declared_nonlocal.update(node.names)
        elif isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loads.add(node.id)
            else:
                local.add(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            loads.add(node.target.id)  # x += 1 reads x first
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            local.add(node.name)
            inner_parameters = (
                parameters_of(node.args) if not isinstance(node, ast.ClassDef) else set()
            )
            decorators = node.decorator_list
            for expression in decorators:
                loads.update(n.id for n in ast.walk(expression) if isinstance(n, ast.Name))
            inner_free, inner_globals = scope_free_names(node.body, inner_parameters)
            loads.update(inner_free)
            declared_global.update(inner_globals)
        elif isinstance(node, ast.Lambda):
            inner_free, _ = scope_free_names([ast.Expr(node.body)], parameters_of(node.args))
            loads.update(inner_free)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                local.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            local.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            local.add(node.name)
    global_stores = {
        name for name in declared_global
        if name in local or any(
            isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)
            for n in walk_scope(body)
        )
    }  # fmt: skip
    local -= declared_global
    free = (loads - local - declared_nonlocal) | (declared_global & loads)
    return free, global_stores


def comprehension_free_names(
    node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp,
) -> tuple[set[str], set[str]]:
    """Free names of a comprehension except its first iterable (evaluated outside),
    and the names its ``:=`` expressions bind in the enclosing scope."""
    targets: set[str] = set()
    for generator in node.generators:
        targets.update(n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name))
    parts: list[ast.AST] = []
    for index, generator in enumerate(node.generators):
        if index:
            parts.append(generator.iter)
        parts.extend(generator.ifs)
    if isinstance(node, ast.DictComp):
        parts.extend([node.key, node.value])
    else:
        parts.append(node.elt)
    loads: set[str] = set()
    walrus: set[str] = set()
    for part in parts:
        free, _ = scope_free_names([ast.Expr(part)], set())  # type: ignore[arg-type]
        loads.update(free)
        for child in ast.walk(part):
            if isinstance(child, ast.NamedExpr):
                walrus.add(child.target.id)
    return loads - targets, walrus
