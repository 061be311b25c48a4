"""Static name analysis of compiled code objects (bytecode, not source).

Working on code objects instead of `inspect.getsource` means it works for lambdas, functions
restored from a checkpoint, and functions defined by exec (ElasticNotebook's F9). Results are
cached per code object (code objects are immutable).
"""

from __future__ import annotations

import dis
import types
import weakref
from dataclasses import dataclass
from typing import Iterable

# Builtins whose use means "this code may read or write any global" (dynamic name access).
DYNAMIC_GLOBALS = frozenset({"eval", "exec", "globals", "vars", "locals", "__import__", "get_ipython"})
# Attribute names that expose the user namespace.
DYNAMIC_ATTRS = frozenset({"user_ns", "user_global_ns", "f_globals", "__globals__"})

# Calls that draw fresh entropy the saved RNG states cannot reproduce.
ENTROPY_NAMES = frozenset({"urandom", "uuid4", "uuid1", "token_bytes", "token_hex", "token_urlsafe",
                           "SystemRandom", "getrandom", "randbelow"})
ENTROPY_MODULES = frozenset({"secrets"})
# Constructors/seeders that draw OS entropy when called with no argument.
SEEDERS = frozenset({"default_rng", "RandomState", "seed", "Random", "SeedSequence", "PCG64",
                     "PCG64DXSM", "MT19937", "Philox", "SFC64", "manual_seed"})
CLOCK_NAMES = frozenset({"time", "time_ns", "now", "utcnow", "today", "perf_counter", "monotonic",
                         "process_time", "datetime"})
# Reads of the process's environment: another kernel (other machine, pid, user, directory) gets
# other values, so what the cell computed from them is worth saving, as with randomness.
ENVIRONMENT_NAMES = frozenset({"environ", "environb", "getenv", "getenvb", "getpid", "getppid", "gethostname",
                               "getfqdn", "gethostbyname", "getcwd", "getcwdb", "getlogin", "getuser", "getuid",
                               "geteuid", "getgid", "cpu_count", "sched_getaffinity", "expanduser", "home",
                               "get_terminal_size"})
# Generic attribute names that are environment reads only when called with no argument
# (platform.node(), os.uname(), Path.cwd()).
ENVIRONMENT_CALLS = frozenset({"node", "uname", "cwd"})

_LOAD_OPS = frozenset({"LOAD_NAME", "LOAD_GLOBAL", "LOAD_FROM_DICT_OR_GLOBALS"})
_STORE_OPS = frozenset({"STORE_NAME", "STORE_GLOBAL"})
_DELETE_OPS = frozenset({"DELETE_NAME", "DELETE_GLOBAL"})
_ATTR_OPS = frozenset({"LOAD_ATTR", "LOAD_METHOD", "STORE_ATTR", "DELETE_ATTR", "LOAD_SUPER_ATTR"})
_SKIP_BEFORE_CALL = frozenset({"CACHE", "PRECALL", "PUSH_NULL", "EXTENDED_ARG", "NOP"})
COMPREHENSIONS = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"})
CO_NEWLOCALS = 0x0002


@dataclass(frozen=True)
class CodeInfo:
    """Names used by one code object (not including nested code objects)."""

    loads: frozenset[str]
    stores: frozenset[str]
    deletes: frozenset[str]
    attrs: frozenset[str]
    star_import: bool
    nondet: tuple[str, ...]
    children: tuple[types.CodeType, ...]
    name: str
    immediate: bool  # runs when its parent runs (class body, comprehension)


@dataclass(frozen=True)
class Summary:
    """Union of CodeInfo over a code object and all its nested code objects."""

    names: frozenset[str]  # loads | stores | deletes
    loads: frozenset[str]
    stores: frozenset[str]
    dynamic: bool
    nondet: tuple[str, ...]


_info_cache: "weakref.WeakKeyDictionary[types.CodeType, CodeInfo]" = weakref.WeakKeyDictionary()
_summary_cache: "weakref.WeakKeyDictionary[types.CodeType, Summary]" = weakref.WeakKeyDictionary()


def code_info(code: types.CodeType) -> CodeInfo:
    try:
        return _info_cache[code]
    except (KeyError, TypeError):
        pass
    info = _scan(code)
    try:
        _info_cache[code] = info
    except TypeError:
        pass
    return info


def _scan(code: types.CodeType) -> CodeInfo:
    loads: set[str] = set()
    stores: set[str] = set()
    deletes: set[str] = set()
    attrs: set[str] = set()
    nondet: list[str] = []
    star = False
    instrs = [i for i in dis.get_instructions(code) if i.opname not in _SKIP_BEFORE_CALL]
    for k, ins in enumerate(instrs):
        op = ins.opname
        if op in _LOAD_OPS:
            name = ins.argval if isinstance(ins.argval, str) else str(ins.argval)
            loads.add(name)
        elif op in _STORE_OPS:
            stores.add(ins.argval)
        elif op in _DELETE_OPS:
            deletes.add(ins.argval)
        elif op in _ATTR_OPS:
            name = ins.argval
            if isinstance(name, tuple):  # 3.12 LOAD_SUPER_ATTR/argval forms
                name = name[-1]
            if isinstance(name, str):
                attrs.add(name)
            else:
                continue
        elif op == "IMPORT_STAR":
            star = True
            continue
        else:
            continue
        nm = ins.argval if isinstance(ins.argval, str) else ""
        if op in _LOAD_OPS or op in ("LOAD_ATTR", "LOAD_METHOD"):
            if nm in ENTROPY_NAMES or nm in ENTROPY_MODULES:
                nondet.append(f"entropy:{nm}")
            elif nm in SEEDERS and _called_without_args(instrs, k):
                nondet.append(f"unseeded:{nm}")
            elif nm in CLOCK_NAMES and _called_without_args(instrs, k):
                nondet.append(f"clock:{nm}")
            elif nm in ENVIRONMENT_NAMES or (nm in ENVIRONMENT_CALLS and _called_without_args(instrs, k)):
                nondet.append(f"environment:{nm}")
            elif nm == "hash" and op in _LOAD_OPS:
                nondet.append("hash:str")  # str/bytes hashes differ between processes (PYTHONHASHSEED)
    children = tuple(c for c in code.co_consts if isinstance(c, types.CodeType))
    immediate = (not code.co_flags & CO_NEWLOCALS) or code.co_name in COMPREHENSIONS
    return CodeInfo(frozenset(loads), frozenset(stores), frozenset(deletes), frozenset(attrs), star,
                    tuple(dict.fromkeys(nondet)), children, code.co_name, immediate)


def _called_without_args(instrs: list[dis.Instruction], k: int) -> bool:
    """True when the load at k is immediately called with zero arguments (no seed given)."""
    if k + 1 >= len(instrs):
        return False
    nxt = instrs[k + 1]
    return nxt.opname in ("CALL", "CALL_FUNCTION", "CALL_METHOD") and nxt.arg == 0


def walk(code: types.CodeType) -> Iterable[types.CodeType]:
    stack = [code]
    while stack:
        c = stack.pop()
        yield c
        stack.extend(code_info(c).children)


def summary(code: types.CodeType) -> Summary:
    """All names referenced anywhere in `code` (used for functions: everything may run)."""
    try:
        return _summary_cache[code]
    except (KeyError, TypeError):
        pass
    loads: set[str] = set()
    stores: set[str] = set()
    names: set[str] = set()
    nondet: list[str] = []
    dynamic = False
    for c in walk(code):
        info = code_info(c)
        loads |= info.loads
        stores |= info.stores
        names |= info.loads | info.stores | info.deletes
        nondet.extend(info.nondet)
        if info.loads & DYNAMIC_GLOBALS - {"locals", "vars"} or info.attrs & DYNAMIC_ATTRS:
            dynamic = True
    s = Summary(frozenset(names), frozenset(loads), frozenset(stores), dynamic, tuple(dict.fromkeys(nondet)))
    try:
        _summary_cache[code] = s
    except TypeError:
        pass
    return s
