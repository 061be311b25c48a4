"""What a cell may touch, from its *transformed* source (magics already lowered to Python).

A cell's code tree is split into code that runs now (module body, class bodies, comprehensions)
and deferred code (function and lambda bodies). A deferred body counts only if the cell also
uses it (its name is loaded, it is a lambda, or it is a method of a class the cell uses):
defining `def f(): return g` does not read `g`, calling it does. Functions that already exist in
the namespace are followed later by the recorder through their live `__code__`.
"""

from __future__ import annotations

import ast
import re
import types
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from . import assigned_first, codescan

try:  # top-level await cells compile only with this flag
    from ast import PyCF_ALLOW_TOP_LEVEL_AWAIT as _AWAIT_FLAG
except ImportError:  # pragma: no cover
    _AWAIT_FLAG = 0

# Magics that run their argument as Python code in the user namespace.
CODE_LINE_MAGICS = {"time": "", "timeit": "n:r:tcp:qo", "prun": "D:l:rs:T:q"}
CODE_CELL_MAGICS = {"time": "", "timeit": "n:r:tcp:qo", "prun": "D:l:rs:T:q", "capture": None}
# Magics that read every variable but change none.
READ_ALL_MAGICS = frozenset({"who", "whos", "who_ls"})
# Magics that neither read nor write user variables (beyond `$var` expansion in their line).
SAFE_LINE_MAGICS = frozenset({
    "matplotlib", "pwd", "cd", "env", "set_env", "pip", "conda", "mamba", "micromamba", "uv",
    "lsmagic", "history", "hist", "config", "precision", "xmode", "pdb", "page", "pinfo", "pinfo2",
    "psearch", "ls", "clear", "autoawait", "automagic", "colors", "autocall", "sx", "system", "sc",
    "bookmark", "dhist", "dirs", "popd", "pushd", "rehashx", "save", "logstart", "logstop", "logon",
    "logoff", "logstate", "gui", "tb", "killbgscripts", "alias", "unalias", "doctest_mode", "magic",
    "quickref", "notebook", "load_ext", "reload_ext", "unload_ext", "autoreload", "aimport", "lprun",
    "memit", "mprun", "cat", "less", "more", "man", "mkdir", "rm", "rmdir", "cp", "mv", "ldir", "lf",
    "lk", "ll", "lx", "pycat",
})
SAFE_CELL_MAGICS = frozenset({
    "bash", "sh", "script", "html", "HTML", "javascript", "js", "latex", "markdown", "svg",
    "writefile", "file", "perl", "ruby", "python2", "python3", "pypy", "sx", "system", "!",
})
_OUT_OPTS = re.compile(r"--(?:out|err|proc)\s+([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class CellAnalysis:
    names: set[str] = field(default_factory=set)  # loaded, stored or deleted by code that runs
    loads: set[str] = field(default_factory=set)
    reads_all: bool = False  # eval/exec/globals()/unknown magic: any variable may be read
    touch_all: bool = False  # ... and any variable may be changed
    star_import: bool = False
    nondet: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attrs: set[str] = field(default_factory=set)  # attribute names used by code that runs now
    # The cell makes functions/classes (def, lambda, class): names of *all* its code, used or not,
    # for variables whose content could not be re-probed (they may now hold that code).
    makes_code: bool = False
    code_names: set[str] = field(default_factory=set)
    code_loads: set[str] = field(default_factory=set)
    code_dynamic: bool = False
    # Loaded names the cell binds before every load of them (assigned_first.py): what it reads
    # there is its own value, not an earlier cell's. Empty for cells with magics.
    assigned_first: set[str] = field(default_factory=set)

    def merge(self, other: "CellAnalysis") -> None:
        self.names |= other.names
        self.loads |= other.loads
        self.reads_all |= other.reads_all
        self.touch_all |= other.touch_all
        self.star_import |= other.star_import
        self.nondet.extend(x for x in other.nondet if x not in self.nondet)
        self.notes.extend(other.notes)
        self.attrs |= other.attrs
        self.makes_code |= other.makes_code
        self.code_names |= other.code_names
        self.code_loads |= other.code_loads
        self.code_dynamic |= other.code_dynamic


Transform = Callable[[str], str]
_cache: "OrderedDict[str, CellAnalysis]" = OrderedDict()
_CACHE_MAX = 256


def analyze(source: str, transform: Transform | None = None, _depth: int = 0) -> CellAnalysis:
    """Analyze transformed cell source. `transform` lowers IPython syntax in magic bodies."""
    hit = _cache.get(source)
    if hit is not None:
        _cache.move_to_end(source)
        return _copy(hit)
    result = _analyze(source, transform, _depth)
    _cache[source] = result
    if len(_cache) > _CACHE_MAX:
        _cache.popitem(last=False)
    return _copy(result)


def _copy(a: CellAnalysis) -> CellAnalysis:
    return CellAnalysis(set(a.names), set(a.loads), a.reads_all, a.touch_all, a.star_import,
                        list(a.nondet), list(a.notes), set(a.attrs), a.makes_code, set(a.code_names),
                        set(a.code_loads), a.code_dynamic, set(a.assigned_first))


def _analyze(source: str, transform: Transform | None, depth: int) -> CellAnalysis:
    out = CellAnalysis()
    try:
        code = compile(source, "<nbferry-cell>", "exec", flags=_AWAIT_FLAG, dont_inherit=True)
    except Exception as e:  # the cell will most likely fail too; stay conservative
        out.reads_all = out.touch_all = True
        out.notes.append(f"compile failed: {type(e).__name__}")
        return out
    _active_code(code, out)
    if any(c is not code and c.co_name not in codescan.COMPREHENSIONS for c in codescan.walk(code)):
        s = codescan.summary(code)
        out.makes_code = True
        out.code_names, out.code_loads, out.code_dynamic = set(s.names), set(s.loads), s.dynamic
    dyn = out.loads & (codescan.DYNAMIC_GLOBALS - {"get_ipython"})
    if dyn:
        out.reads_all = out.touch_all = True
        out.notes.append("dynamic:" + ",".join(sorted(dyn)))
    if "get_ipython" in out.loads:
        _magics(source, transform, out, depth)
    elif not out.reads_all:
        out.assigned_first = set(assigned_first.assigned_first(source)) & out.loads
    return out


def _active_code(top: types.CodeType, out: CellAnalysis) -> None:
    """Union names of code that runs now, plus deferred bodies the cell uses (fixpoint)."""
    immediate: list[types.CodeType] = []
    deferred: list[tuple[types.CodeType, str | None]] = []  # (code, enclosing class name)

    def split(code: types.CodeType, cls: str | None) -> None:
        for child in codescan.code_info(code).children:
            info = codescan.code_info(child)
            if info.immediate:
                immediate.append(child)
                split(child, child.co_name if not child.co_flags & codescan.CO_NEWLOCALS else cls)
            else:
                deferred.append((child, cls))

    immediate.append(top)
    split(top, None)
    for c in immediate:
        _add(codescan.code_info(c), out)
    pending = deferred
    while True:
        used = out.loads
        activated = [(c, cls) for c, cls in pending
                     if c.co_name == "<lambda>" or c.co_name in used or (cls is not None and cls in used)]
        if not activated:
            break
        pending = [p for p in pending if p not in activated]
        for c, _ in activated:
            s = codescan.summary(c)
            out.names |= s.names
            out.loads |= s.loads
            out.nondet.extend(x for x in s.nondet if x not in out.nondet)
            if s.dynamic:
                out.reads_all = out.touch_all = True
                out.notes.append(f"dynamic in {c.co_name}")


def _add(info: codescan.CodeInfo, out: CellAnalysis) -> None:
    out.names |= info.loads | info.stores | info.deletes
    out.loads |= info.loads
    out.attrs |= info.attrs
    out.star_import |= info.star_import
    out.nondet.extend(x for x in info.nondet if x not in out.nondet)
    if info.attrs & codescan.DYNAMIC_ATTRS:
        out.reads_all = out.touch_all = True
        out.notes.append("dynamic attribute access")


def _magics(source: str, transform: Transform | None, out: CellAnalysis, depth: int) -> None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    if tree is None:
        out.reads_all = out.touch_all = True
        return
    uses = 0
    understood = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "get_ipython":
            uses += 1
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target = node.func.value
        if not (isinstance(target, ast.Call) and isinstance(target.func, ast.Name)
                and target.func.id == "get_ipython" and not target.args):
            continue
        args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        if _magic_call(node.func.attr, args, transform, out, depth):
            understood += 1
    if uses != understood:
        out.reads_all = out.touch_all = True
        out.notes.append("unrecognized get_ipython() use")


def _magic_call(method: str, args: list[object], transform: Transform | None,
                out: CellAnalysis, depth: int) -> bool:
    """Fold one lowered magic/escape call into `out`; False if we cannot reason about it."""
    if method in ("system", "getoutput") and args and isinstance(args[0], str):
        out.loads |= expand_names(args[0])
        out.names |= expand_names(args[0])
        return True
    if method == "run_line_magic" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        name, line = args[0], args[1]
        out.loads |= expand_names(line)
        out.names |= expand_names(line)
        if name in CODE_LINE_MAGICS:
            _sub(strip_options(line, CODE_LINE_MAGICS[name]), transform, out, depth)
        elif name in READ_ALL_MAGICS:
            out.reads_all = True
        elif name not in SAFE_LINE_MAGICS:
            out.reads_all = out.touch_all = True
            out.notes.append(f"magic %{name}")
        return True
    if (method == "run_cell_magic" and len(args) >= 3 and all(isinstance(a, str) for a in args[:3])):
        name, line, body = str(args[0]), str(args[1]), str(args[2])
        out.loads |= expand_names(line)
        out.names |= expand_names(line)
        if name in CODE_CELL_MAGICS:
            opts = CODE_CELL_MAGICS[name]
            if opts is None or not strip_options(line, opts).strip():
                _sub(body, transform, out, depth, lower=True)
            else:  # `%%timeit setup` style line code runs too
                _sub(strip_options(line, opts), transform, out, depth)
                _sub(body, transform, out, depth, lower=True)
        elif name in SAFE_CELL_MAGICS:
            out.names |= set(_OUT_OPTS.findall(line))
        else:
            out.reads_all = out.touch_all = True
            out.notes.append(f"cell magic %%{name}")
        return True
    return False


def _sub(code: str, transform: Transform | None, out: CellAnalysis, depth: int, lower: bool = False) -> None:
    if depth > 8:
        out.reads_all = out.touch_all = True
        return
    if lower and transform is not None:
        try:
            code = transform(code)
        except Exception:
            out.reads_all = out.touch_all = True
            return
    out.merge(analyze(code, transform, depth + 1))


_DOLLAR = re.compile(r"(?<!\$)\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_BRACES = re.compile(r"\{([^{}]+)\}")


def expand_names(text: str) -> set[str]:
    """Names IPython's var_expand may read from `$name` / `{expr}` in a magic line."""
    names = set(_DOLLAR.findall(text))
    for expr in _BRACES.findall(text):
        try:
            code = compile(expr, "<expand>", "eval")
        except Exception:
            continue
        for c in codescan.walk(code):
            names |= codescan.code_info(c).loads
    return names


def strip_options(line: str, spec: str) -> str:
    """Drop leading getopt-style options (`-n 10 -r3 -q`) and return the code part."""
    with_value = {spec[i] for i in range(len(spec) - 1) if spec[i + 1] == ":"}
    toks = line.lstrip().split(" ")
    i = 0
    while i < len(toks):
        t = toks[i]
        if t == "":
            i += 1
            continue
        if not t.startswith("-") or t == "-" or t.startswith("--"):
            break
        letters = t[1:]
        i += 1
        for j, ch in enumerate(letters):
            if ch in with_value:
                if j == len(letters) - 1:
                    i += 1  # value is the next token
                break
    return " ".join(toks[i:])
