"""assigned_first: names a cell binds before it reads them, so the read is not an input.

Hand-written cases for each statement kind, then a soundness property against the interpreter:
random programs run with a namespace that records which names were read before the program
bound them; every such name must still count as a read of the cell.
"""

from __future__ import annotations

import random
import sys
from contextlib import suppress
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from nbferry_shim import cellscan  # noqa: E402
from nbferry_shim.assigned_first import assigned_first  # noqa: E402


@pytest.mark.parametrize(("source", "first"), [
    ("x = 1\ny = x", {"x"}),
    ("for k in range(3):\n    print(k)", {"k"}),
    ("model = fit()\nmodel.score()", {"model"}),
    ("import os\nos.getcwd()", {"os"}),
    ("import a.b\na.b.c()", {"a"}),
    ("def f():\n    return 1\nf()", {"f"}),
    ("if c:\n    x = 1\nelse:\n    x = 2\nprint(x)", {"x"}),
    ("with open(p) as fh:\n    y = fh.read()\nprint(fh, y)", {"fh"}),
    ("x = 1\nz = [x * i for i in range(3)]", {"x"}),
    # Not dominated: each of these reads an earlier cell's value.
    ("y = x\nx = 1", set()),
    ("x += 1", set()),
    ("x = x + 1", set()),
    ("if c:\n    x = 1\nprint(x)", set()),
    ("for k in d:\n    pass\nprint(k)", set()),
    ("while c:\n    x = 1\nprint(x)", set()),
    ("try:\n    x = f()\nexcept Exception:\n    pass\nprint(x)", set()),
    ("with suppress(E):\n    x = f()\nprint(x)", set()),
    ("x = 1\ndel x\nprint(x)", set()),
    ("def g():\n    return x\nx = 1\ng()\nprint(x)", {"g"}),  # g's load of x: when it runs is unknown
    ("x = 1\ng = (x for _ in range(2))", set()),  # a generator runs later
    ("x = 1\nh = lambda: x", set()),
    ("x = 1\nclass C:\n    y = x", set()),
    ("x[0] = 1\nprint(x)", set()),  # a subscript store loads x first
    ("for k in d:\n    print(k)\nelse:\n    print(k)", set()),  # else: maybe no iteration
    ("x = 1\nif c:\n    del x\nprint(x)", set()),
    ("x = 1\nfor i in d:\n    print(x)\n    del x", set()),  # the second iteration has no x of its own
    ("x = 1\ntry:\n    del x\n    f()\nexcept E:\n    print(x)", set()),
    ("x = 1\nwith suppress(E):\n    del x\nprint(x)", set()),
    ("e = 1\ntry:\n    f()\nexcept E as e:\n    pass\nprint(e)", set()),  # `as e` is unbound after
])
def test_statement_kinds(source: str, first: set[str]) -> None:
    assert assigned_first(source) == first


def test_comprehension_variables_are_not_the_cells() -> None:
    # `k` inside the comprehension is its own; the cell's `k` is read after the loop binds it.
    assert assigned_first("for k in d:\n    ks = [k for k in k]") == {"k"}
    assert "k" not in assigned_first("ks = [k for k in range(3)]\nprint(k)")


def test_a_cell_with_magics_or_dynamic_access_keeps_every_read() -> None:
    ana = cellscan.analyze("x = 1\nget_ipython().run_line_magic('time', 'print(x)')\nprint(x)")
    assert ana.assigned_first == set()
    assert cellscan.analyze("x = 1\nprint(globals()['x'], x)").assigned_first == set()
    assert cellscan.analyze("x = 1\nprint(x)").assigned_first == {"x"}


class _ReadBeforeBound(dict):  # type: ignore[type-arg]
    """A namespace that records names read before the program bound them itself."""

    def __init__(self, initial: dict[str, int]) -> None:
        super().__init__(initial)
        self.bound: set[str] = set()
        self.inputs: set[str] = set()

    def __getitem__(self, key: str) -> int:
        if key not in self.bound:
            self.inputs.add(key)
        return super().__getitem__(key)  # type: ignore[no-any-return]

    def __setitem__(self, key: str, value: int) -> None:
        self.bound.add(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.bound.discard(key)
        super().__delitem__(key)


NAMES = "abcd"


def _program(rng: random.Random, depth: int = 0, indent: str = "") -> list[str]:
    def name() -> str:
        return rng.choice(NAMES)

    def expr() -> str:
        return rng.choice([name(), f"{name()} + {name()}", "1", f"({name()} if {name()} else 0)"])

    lines: list[str] = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(["assign", "assign", "aug", "del", "use", "if", "for", "while", "try", "with"]
                          if depth < 2 else ["assign", "aug", "del", "use"])
        if kind == "assign":
            lines.append(f"{indent}{name()} = {expr()}")
        elif kind == "aug":
            lines.append(f"{indent}{name()} += 1")
        elif kind == "del":
            lines.append(f"{indent}del {name()}")
        elif kind == "use":
            lines.append(f"{indent}sink({expr()})")
        elif kind == "if":
            lines.append(f"{indent}if {expr()}:")
            lines += _program(rng, depth + 1, indent + "    ")
            if rng.random() < 0.5:
                lines.append(f"{indent}else:")
                lines += _program(rng, depth + 1, indent + "    ")
        elif kind == "for":
            lines.append(f"{indent}for {name()} in range({rng.randint(0, 2)}):")
            lines += _program(rng, depth + 1, indent + "    ")
        elif kind == "while":
            lines.append(f"{indent}while tick():")
            lines += _program(rng, depth + 1, indent + "    ")
        elif kind == "try":
            lines.append(f"{indent}try:")
            lines += _program(rng, depth + 1, indent + "    ")
            lines.append(f"{indent}except Exception:")
            lines += _program(rng, depth + 1, indent + "    ")
        else:
            lines.append(f"{indent}with suppress(Exception):")
            lines += _program(rng, depth + 1, indent + "    ")
    return lines


def test_never_drops_a_read_the_interpreter_makes() -> None:
    rng = random.Random(20261204)
    dominated_seen = 0
    for _ in range(3000):
        source = "\n".join(_program(rng))
        claimed = cellscan.analyze(source)
        reads = claimed.loads - claimed.assigned_first
        dominated_seen += bool(claimed.assigned_first)
        for _ in range(3):
            ns = _ReadBeforeBound({n: rng.randint(0, 2) for n in NAMES if rng.random() < 0.7})
            ticks = iter([True, True, False] * 50)  # each `while tick():` loop runs 0-2 times
            builtins = {"sink": lambda v: None, "suppress": suppress, "tick": lambda: next(ticks, False)}
            with suppress(Exception):
                exec(compile(source, "<cell>", "exec"), builtins, ns)
            missed = ns.inputs - reads
            assert not missed, f"{sorted(missed)} read before bound, but not counted as reads:\n{source}"
    assert dominated_seen > 300  # the property is not vacuous: many programs do bind first
