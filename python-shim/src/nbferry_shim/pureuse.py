"""Exact proof that a cell left a large variable unchanged, without hashing it.

A cell that only *inspects* a big value (`df.head()`, `df.shape`, `a.mean()`, `len(rows)`) would
otherwise pay for a full fingerprint, or, over the hashing budget, be recorded as modifying it.
Neither is needed when every occurrence of the name in the cell is a use whose effect is known:

* `len(x)`, `type(x)`, `id(x)` on exact builtin containers, numpy arrays and pandas objects;
* numpy arrays (exact `ndarray`, no object dtype): metadata (`.shape`, `.dtype`, ...) and methods
  that return new arrays or scalars (`.mean()`, `.sum()`, `.copy()`, ...), with constant
  arguments only; subscripts (views) only when consumed on the spot (`a[0].sum()`, `a[:3] + 1`,
  `print(a[0])`), never bound to a name;
* pandas DataFrame/Series (exact classes, copy-on-write guaranteed, no object-dtype column):
  metadata, subscripts and `.loc`/`.iloc`, and a list of methods that return new objects
  (`.head()`, `.describe()`, `.value_counts()`, ...), chained, with constant arguments and no
  `inplace`; results bound to a name are tied to the variable in the sharing index (they may
  share memory).
Results are consumed by: a bare expression (display), `print`/`str`/`repr`/`len`/`display`,
an f-string, arithmetic or comparisons with constants, or (see above) an assignment to a name.

Builtin containers (exact list, tuple, dict, set): `len`/`type`/`id`, and `x = c[k]` / `x = d.get(k)`
when `x` occurs nowhere else in the cell and ends up an immutable scalar.

Anything else (an argument to another function, a store, an alias, iteration, use inside a
function or comprehension, a non-constant argument) is not pure. The recorder also requires that
no user function the cell reaches uses the name and that no impure name of the cell shares an
object with it (PROTOCOL.md §4.2). Assumed, as everywhere: library code does what it documents.
"""

from __future__ import annotations

import ast
import sys
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

ARRAY_META = frozenset({"shape", "dtype", "ndim", "size", "nbytes", "itemsize", "strides"})
ARRAY_FRESH = frozenset({"mean", "sum", "std", "var", "min", "max", "argmin", "argmax", "any", "all",
                         "prod", "cumsum", "cumprod", "ptp", "copy", "tolist", "tobytes", "item", "round",
                         "nonzero", "argsort", "trace"})
FRAME_META = frozenset({"shape", "dtypes", "dtype", "ndim", "size", "empty", "name", "columns", "index"})
FRAME_INDEXERS = frozenset({"loc", "iloc", "at", "iat"})
FRAME_METHODS = frozenset({
    "head", "tail", "describe", "mean", "median", "sum", "std", "var", "sem", "min", "max", "count",
    "nunique", "value_counts", "unique", "isna", "isnull", "notna", "notnull", "copy", "info",
    "memory_usage", "corr", "cov", "quantile", "abs", "round", "nlargest", "nsmallest", "sort_values",
    "sort_index", "sample", "to_string", "to_dict", "to_list", "tolist", "to_frame", "reset_index",
    "set_index", "rename", "drop", "drop_duplicates", "duplicated", "dropna", "fillna", "astype",
    "select_dtypes", "idxmax", "idxmin", "any", "all", "prod", "cumsum", "transpose", "get", "keys",
    "agg", "aggregate", "pivot_table", "melt", "skew", "kurt", "mode", "between", "isin", "clip",
    "diff", "pct_change", "shift", "rank", "equals", "first_valid_index", "last_valid_index",
})
CONSUMER_FUNCS = frozenset({"print", "str", "repr", "len", "display", "format"})
INSPECT_FUNCS = frozenset({"len", "type", "id"})
_FORBIDDEN_KW = frozenset({"out", "inplace"})


@dataclass(frozen=True)
class Occurrence:
    steps: tuple[tuple[str, str], ...]  # ("call"|"attr"|"sub"|"inspect", name)
    consumer: str  # "expr" | "func" | "op" | "format" | "assign" | "other"
    target: str | None  # for "assign"


_cache: "OrderedDict[str, dict[str, tuple[Occurrence, ...]] | None]" = OrderedDict()
_CACHE_MAX = 128


def occurrences(source: str) -> dict[str, tuple[Occurrence, ...]] | None:
    """Every load of each global name in the cell, with its use chain; a name that also occurs
    in any other way (store, delete, inside a function, lambda, class or comprehension) maps to
    an "other" occurrence. None if the source does not parse."""
    hit = _cache.get(source, False)
    if hit is not False:
        _cache.move_to_end(source)
        return hit  # type: ignore[return-value]
    try:
        tree = ast.parse(source)
    except SyntaxError:
        out = None
    else:
        out = _scan(tree)
    _cache[source] = out
    if len(_cache) > _CACHE_MAX:
        _cache.popitem(last=False)
    return out


def _scan(tree: ast.Module) -> dict[str, tuple[Occurrence, ...]]:
    parents: dict[ast.AST, ast.AST] = {}
    nested: set[int] = set()  # ids of nodes inside a function, lambda, class or comprehension
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    names: list[tuple[ast.Name, bool]] = []
    while stack:
        node, inner = stack.pop()
        for child in ast.iter_child_nodes(node):
            parents[child] = node
            child_inner = inner or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                                                     ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp))
            if isinstance(child, ast.Name):
                names.append((child, child_inner))
            stack.append((child, child_inner))
    other = Occurrence((), "other", None)
    found: dict[str, list[Occurrence]] = {}
    for node, inner in names:
        occ = other if inner or not isinstance(node.ctx, ast.Load) else _chain(node, parents)
        found.setdefault(node.id, []).append(occ)
    for node in ast.walk(tree):  # `global x` / `nonlocal` in a def, `del`, imports rebinding
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            for n in node.names:
                found.setdefault(n, []).append(other)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                found.setdefault((a.asname or a.name).split(".")[0], []).append(other)
    return {k: tuple(v) for k, v in found.items()}


def _chain(node: ast.Name, parents: dict[ast.AST, ast.AST]) -> Occurrence:
    cur: ast.AST = node
    steps: list[tuple[str, str]] = []
    parent = parents.get(cur)
    if (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id in INSPECT_FUNCS
            and len(parent.args) == 1 and parent.args[0] is cur and not parent.keywords):
        steps.append(("inspect", parent.func.id))
        cur = parent
        parent = parents.get(cur)
    while True:
        if isinstance(parent, ast.Attribute) and parent.value is cur and isinstance(parent.ctx, ast.Load):
            gp = parents.get(parent)
            if isinstance(gp, ast.Call) and gp.func is parent:
                if not _const_call(gp):
                    return Occurrence(tuple(steps), "other", None)
                steps.append(("call", parent.attr))
                cur = gp
            else:
                steps.append(("attr", parent.attr))
                cur = parent
        elif isinstance(parent, ast.Subscript) and parent.value is cur and isinstance(parent.ctx, ast.Load) \
                and _const(parent.slice):
            steps.append(("sub", ""))
            cur = parent
        else:
            break
        parent = parents.get(cur)
    return Occurrence(tuple(steps), *_consumer(cur, parent))


def _consumer(cur: ast.AST, parent: ast.AST | None) -> tuple[str, str | None]:
    if isinstance(parent, ast.Expr):
        return "expr", None
    if isinstance(parent, ast.Assign) and parent.value is cur and len(parent.targets) == 1 \
            and isinstance(parent.targets[0], ast.Name):
        return "assign", parent.targets[0].id
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id in CONSUMER_FUNCS \
            and cur in parent.args:  # the other arguments never receive the value
        return "func", parent.func.id
    if isinstance(parent, ast.FormattedValue) and parent.value is cur:
        return "format", None
    if isinstance(parent, ast.UnaryOp):
        return "op", None
    if isinstance(parent, ast.BinOp) and all(_const(x) for x in (parent.left, parent.right) if x is not cur):
        return "op", None
    if isinstance(parent, ast.Compare) and all(_const(x) for x in [parent.left, *parent.comparators] if x is not cur):
        return "op", None
    return "other", None


def _const(node: ast.AST) -> bool:
    """A literal (possibly nested in tuples/lists/slices/unary minus): it cannot be user code."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_const(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _const(k) for k in node.keys) and all(_const(v) for v in node.values)
    if isinstance(node, ast.Slice):
        return all(x is None or _const(x) for x in (node.lower, node.upper, node.step))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _const(node.operand)
    return False


def _const_call(call: ast.Call) -> bool:
    if not all(_const(a) for a in call.args):
        return False
    for k in call.keywords:
        if k.arg is None or not _const(k.value):
            return False
        if k.arg in _FORBIDDEN_KW and not (isinstance(k.value, ast.Constant) and k.value.value in (None, False)):
            return False
    return True


# -- runtime check -------------------------------------------------------------------------------
SCALARS = frozenset({int, float, complex, str, bytes, bool, type(None)})


def family(value: Any) -> str | None:
    """"array" | "frame" | "container" | None, by exact type and content kind."""
    t = type(value)
    if t in (list, tuple, dict, set, frozenset):
        return "container"
    np = sys.modules.get("numpy")
    if np is not None and t is np.ndarray:
        return None if value.dtype.hasobject else "array"
    pd = sys.modules.get("pandas")
    if pd is not None and t in (pd.DataFrame, pd.Series) and _cow(pd):
        try:
            dtypes = [value.dtype] if t is pd.Series else list(value.dtypes)
        except Exception:
            return None
        return None if any(dt == object for dt in dtypes) else "frame"
    return None


def _cow(pd: Any) -> bool:
    """Copy-on-write is always on from pandas 3; earlier only when enabled."""
    try:
        if int(pd.__version__.split(".")[0]) >= 3:
            return True
        return bool(pd.options.mode.copy_on_write is True)
    except Exception:
        return False


def _instance_attrs(value: Any) -> set[str]:
    """Attributes set on the object itself (`df.head = ...` shadows the method)."""
    d = getattr(value, "__dict__", None)
    return set(d) if isinstance(d, dict) else set()


def _pandas_owned(methods: set[str]) -> bool:
    """The methods are pandas' own (not replaced by the notebook)."""
    pd = sys.modules["pandas"]
    for m in methods:
        for cls in (pd.DataFrame, pd.Series):
            f = getattr(cls, m, None)
            if f is not None and not (getattr(f, "__module__", "") or "").startswith("pandas."):
                return False
    return True


def proves_unchanged(value: Any, occs: tuple[Occurrence, ...], scalar_once: Callable[[str], bool]
                     ) -> tuple[bool, set[str]]:
    """(True, names bound to results that may share its memory) when every occurrence is pure for
    this value; (False, set()) otherwise. `scalar_once(name)`: the name occurs once in the cell
    (this binding) and now holds an immutable scalar (an element read out of a container)."""
    fam = family(value)
    if fam is None:
        return False, set()
    targets: set[str] = set()
    methods: set[str] = set()
    for occ in occs:
        if fam == "container" and _element_read(value, occ):
            if occ.target is not None and scalar_once(occ.target):
                continue
            return False, set()
        ok, shares = _pure(fam, occ, methods)
        if not ok:
            return False, set()
        if shares and occ.target is not None:
            targets.add(occ.target)
    if fam == "frame" and methods and (not _pandas_owned(methods) or methods & _instance_attrs(value)):
        return False, set()
    return True, targets


def _element_read(value: Any, occ: Occurrence) -> bool:
    """`x = c[k]` (or `d.get(k)`) bound to a name: pure when x ends up an immutable scalar that
    nothing else in the cell touched (else it may be an alias that the cell mutated)."""
    return occ.consumer == "assign" and (occ.steps == (("sub", ""),) or (
        type(value) is dict and occ.steps == (("call", "get"),)))


def _pure(fam: str, occ: Occurrence, methods: set[str]) -> tuple[bool, bool]:
    """(pure?, may the final result share memory with the value?)"""
    state = "root"  # root/alias: may be the value or a view of it; cow: pandas lazy copy; fresh
    for kind, name in occ.steps:
        if state == "fresh":
            break  # a new object: nothing done to it reaches the value
        if kind == "inspect":
            state = "fresh"
        elif fam == "container":
            return False, False
        elif fam == "array":
            if kind == "call" and name in ARRAY_FRESH or kind == "attr" and name in ARRAY_META:
                state = "fresh"
            elif kind == "sub":
                state = "alias"
            else:
                return False, False
        else:  # frame
            if state == "indexer":
                if kind != "sub":
                    return False, False
                state = "cow"
            elif kind == "call" and name in FRAME_METHODS:
                methods.add(name)
                state = "cow"
            elif kind == "attr" and name in FRAME_META:
                state = "cow" if name in ("columns", "index") else "fresh"
            elif kind == "attr" and name in FRAME_INDEXERS:
                state = "indexer"
            elif kind == "sub" or (kind == "attr" and name == "T"):
                state = "cow"
            else:
                return False, False
    if state == "fresh":
        return True, False
    if fam == "container" or state == "indexer" or occ.consumer == "other":  # containers: only len/type/id
        return False, False
    if occ.consumer == "assign":
        return (True, True) if state == "cow" else (False, False)
    return True, False  # displayed, printed, formatted or computed with on the spot
