"""Names a cell binds before it reads them: those reads are of the cell's own values, not inputs.

`for k in d: use(k)`, `model = fit(X); model.score(X)`: loading a name that an earlier cell also
bound would otherwise count as reading the earlier cell's value, an edge in the history graph that
makes a rerun of this cell rerun the earlier one first (loop variables and temporaries are reused
across cells all the time). A load reads the cell's own value only where a binding *dominates*
it: on every path from the start of the cell to the load, the name was bound and not deleted.

Conservative wherever the order is not plain: every load in a function, lambda or class body or a
generator expression (they run at an unknown time) counts as an input, and so does a load after a
`for`/`while` loop, `try` or `match` of a name bound only inside it (it may not have run); an
`if` binds what both branches bind; a `with` binds its `as` targets but not what its body binds
(a context manager may swallow an exception halfway). Walrus targets, `match` captures and
star-imports bind nothing here. Loads inside comprehensions of their own loop variables are
not loads of the cell's names.
"""

from __future__ import annotations

import ast
from typing import Iterable

Bound = frozenset[str]
_TRY = (ast.Try, getattr(ast, "TryStar", ast.Try))  # try/except*: Python 3.11+


def assigned_first(source: str) -> frozenset[str]:
    """Names loaded by `source` whose every load is dominated by a binding in `source`."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return frozenset()
    walk = _Walk()
    walk.block(tree.body, frozenset())
    return frozenset(walk.dominated - walk.undominated)


class _Walk:
    def __init__(self) -> None:
        self.dominated: set[str] = set()
        self.undominated: set[str] = set()

    def block(self, body: Iterable[ast.stmt], bound: Bound) -> Bound:
        for s in body:
            bound = self.stmt(s, bound)
        return bound

    def stmt(self, s: ast.stmt, bound: Bound) -> Bound:
        if isinstance(s, ast.Assign):
            self.expr(s.value, bound)
            for t in s.targets:
                self.target(t, bound)
            return bound | _names(s.targets)
        if isinstance(s, ast.AugAssign):
            if isinstance(s.target, ast.Name):
                self.load(s.target.id, bound)  # `x += 1` reads x first
            else:
                self.target(s.target, bound)
            self.expr(s.value, bound)
            return bound | _names([s.target])
        if isinstance(s, ast.AnnAssign):
            self.expr(s.annotation, bound)
            if s.value is None:
                self.target(s.target, bound)
                return bound
            self.expr(s.value, bound)
            self.target(s.target, bound)
            return bound | _names([s.target])
        if isinstance(s, (ast.Import, ast.ImportFrom)):
            return bound | {(a.asname or a.name.split(".")[0]) for a in s.names if a.name != "*"}
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.nested(s)
            return bound | {s.name}
        if isinstance(s, ast.If):
            self.expr(s.test, bound)
            return self.block(s.body, bound) & self.block(s.orelse, bound)
        if isinstance(s, (ast.For, ast.AsyncFor)):
            self.expr(s.iter, bound)
            self.target(s.target, bound)
            # A later iteration starts where the last one ended: what the body may unbind is unbound.
            self.block(s.body, (bound - _deleted(s)) | _names([s.target]))
            self.block(s.orelse, bound - _deleted(s))
            return bound - _deleted(s)
        if isinstance(s, ast.While):
            self.expr(s.test, bound - _deleted(s))
            self.block(s.body, bound - _deleted(s))
            self.block(s.orelse, bound - _deleted(s))
            return bound - _deleted(s)
        if isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                self.expr(item.context_expr, bound)
                if item.optional_vars is not None:
                    self.target(item.optional_vars, bound)
                    bound = bound | _names([item.optional_vars])
            self.block(s.body, bound)
            return bound - _deleted(s)
        if isinstance(s, _TRY):
            after_body = self.block(s.body, bound)
            raised = bound - _deleted_in(s.body)  # the body may stop anywhere
            for h in s.handlers:
                if h.type is not None:
                    self.expr(h.type, raised)
                self.block(h.body, raised | ({h.name} if h.name else set()))
            self.block(s.orelse, after_body)
            self.block(s.finalbody, bound - _deleted(s))
            return bound - _deleted(s)
        if isinstance(s, ast.Delete):
            for t in s.targets:
                if not isinstance(t, ast.Name):
                    self.target(t, bound)
            return bound - _names(s.targets)
        if isinstance(s, ast.Match):
            self.expr(s.subject, bound)
            for case in s.cases:
                self.expr(case.pattern, bound)
                if case.guard is not None:
                    self.expr(case.guard, bound)
                self.block(case.body, bound)
            return bound - _deleted(s)
        self.expr(s, bound)  # Expr, Return, Raise, Assert, Global, Pass, Break, ...
        return bound

    def target(self, t: ast.expr, bound: Bound) -> None:
        """The loads an assignment target makes (`a.b = `, `a[i] = ` load a and i)."""
        if isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                self.target(e, bound)
        elif isinstance(t, ast.Starred):
            self.target(t.value, bound)
        elif not isinstance(t, ast.Name):
            self.expr(t, bound)

    def expr(self, node: ast.AST, bound: Bound, local: frozenset[str] = frozenset()) -> None:
        """Every load in `node`, evaluated now with `bound` holding."""
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id not in local:
                self.load(node.id, bound)
            return
        if isinstance(node, (ast.Lambda, ast.GeneratorExp)):
            self.nested(node)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp)):
            gens = node.generators
            self.expr(gens[0].iter, bound, local)  # the first iterable is evaluated outside
            inner = local | _names([g.target for g in gens])
            for i, g in enumerate(gens):
                if i:
                    self.expr(g.iter, bound, inner)
                for cond in g.ifs:
                    self.expr(cond, bound, inner)
            parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            for part in parts:
                self.expr(part, bound, inner)
            return
        for child in ast.iter_child_nodes(node):
            self.expr(child, bound, local)

    def nested(self, node: ast.AST) -> None:
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                self.undominated.add(n.id)

    def load(self, name: str, bound: Bound) -> None:
        (self.dominated if name in bound else self.undominated).add(name)


def _deleted(s: ast.stmt) -> set[str]:
    """Names a compound statement may unbind: its `del`s and its `except ... as` names (unbound
    when the handler ends), outside nested scopes."""
    return _deleted_in(ast.iter_child_nodes(s))


def _deleted_in(nodes: Iterable[ast.AST]) -> set[str]:
    out: set[str] = set()
    stack: list[ast.AST] = list(nodes)
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(n, ast.Delete):
            out |= _names(n.targets)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            out.add(n.name)
        stack.extend(ast.iter_child_nodes(n))
    return out


def _names(targets: Iterable[ast.expr]) -> set[str]:
    """Plain names an assignment to `targets` binds (not attributes or subscripts)."""
    out: set[str] = set()
    for t in targets:
        if isinstance(t, ast.Name):
            out.add(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            out |= _names(t.elts)
        elif isinstance(t, ast.Starred):
            out |= _names([t.value])
    return out
