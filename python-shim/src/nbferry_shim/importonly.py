"""Is a cell only imports (and configuration of what it imported)?

Such a cell is cheap to rerun in a target that already imported the source's packages (the
coordinator warms it during the checkpoint), whatever it cost in the source: the planner is told
so through the record's `importOnly`.
"""

from __future__ import annotations

import ast

_CONFIG_MAGICS = frozenset({"matplotlib", "config", "load_ext", "autoreload", "precision"})


def import_only(source: str) -> bool:
    """True for cells like `import numpy as np` / `from x import y` / `matplotlib.use("Agg")` /
    `warnings.filterwarnings("ignore")` / `%matplotlib inline`: imports, plus expression
    statements that call into a module the cell itself imported."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    imported: set[str] = set()
    saw_import = False
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            saw_import = True
            imported.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        elif isinstance(stmt, ast.ImportFrom):
            if any(a.name == "*" for a in stmt.names):
                return False  # binds whatever the module exports, possibly data
            saw_import = True
            imported.update(a.asname or a.name for a in stmt.names)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            if not (_config_magic(stmt.value) or _root(stmt.value.func) in imported):
                return False
        else:
            return False
    return saw_import


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _config_magic(call: ast.Call) -> bool:
    """`get_ipython().run_line_magic('matplotlib', 'inline')`, as IPython transforms `%matplotlib inline`."""
    f = call.func
    if not (isinstance(f, ast.Attribute) and f.attr == "run_line_magic" and isinstance(f.value, ast.Call)):
        return False
    inner = f.value.func
    if not (isinstance(inner, ast.Name) and inner.id == "get_ipython") or not call.args:
        return False
    first = call.args[0]
    return isinstance(first, ast.Constant) and first.value in _CONFIG_MAGICS
