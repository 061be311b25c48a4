"""Per-cell lineage: reads, created, modified, deleted — asserted as exact sets."""

from __future__ import annotations

from typing import Any


def rw(rec: dict[str, Any]) -> tuple[set[str], set[str], set[str], set[str]]:
    return set(rec["read"]), set(rec["created"]), set(rec["modified"]), set(rec["deleted"])


def test_create_modify_delete(sess: Any) -> None:
    r = sess.run("a = 1\nb = [1, 2]")
    assert rw(r) == (set(), {"a", "b"}, set(), set())
    assert r["success"] is True and r["cellId"] == "cell-1"
    assert r["executionCount"] == sess.shell.execution_count - 1
    assert r["code"] == "a = 1\nb = [1, 2]" and r["wallSec"] >= 0 and r["overheadSec"] > 0
    assert rw(sess.run("a = a + 1")) == ({"a"}, set(), {"a"}, set())
    assert rw(sess.run("a += 1")) == ({"a"}, set(), {"a"}, set())
    assert rw(sess.run("del a")) == (set(), set(), set(), {"a"})
    assert rw(sess.run("print(b)")) == ({"b"}, set(), set(), set())


def test_a_name_bound_before_it_is_loaded_is_not_read(sess: Any) -> None:
    # Reusing a loop variable or a temporary of an earlier cell does not read that cell's value.
    sess.run("k = 'old'\nmodel = None\nlst = [1]")
    r = sess.run("for k in range(3):\n    print(k)\nmodel = sorted(lst)\nprint(model)")
    assert rw(r) == ({"lst"}, set(), {"k", "model"}, set()) and set(r["rebound"]) == {"k", "model"}
    # ... but a load the binding may not precede still reads it.
    assert rw(sess.run("if lst:\n    model = 1\nprint(model)"))[0] == {"lst", "model"}
    assert rw(sess.run("for k in lst:\n    pass\nprint(k)"))[0] == {"lst", "k"}
    sess.run("def show():\n    return model")
    assert rw(sess.run("model = 2\nshow()\nprint(model)"))[0] == {"model", "show"}


def test_inplace_methods_and_aliases(sess: Any) -> None:
    sess.run("lst = [1]\nalias = lst\nother = [9]")
    assert rw(sess.run("alias.append(2)")) == ({"alias"}, set(), {"alias", "lst"}, set())
    assert rw(sess.run("lst.sort()")) == ({"lst"}, set(), set(), set())  # already sorted: unchanged
    assert rw(sess.run("lst.reverse()")) == ({"lst"}, set(), {"alias", "lst"}, set())
    sess.run("d = {'k': [1]}\ninner = d['k']")
    assert rw(sess.run("inner.append(5)")) == ({"inner"}, set(), {"d", "inner"}, set())
    assert rw(sess.run("d['k2'] = 3")) == ({"d"}, set(), {"d"}, set())


def test_attribute_and_subscript_mutation(sess: Any) -> None:
    sess.run("class C:\n    pass\nobj = C()\nobj.x = 1\narr = [0, 0]")
    assert rw(sess.run("obj.x = 2")) == ({"obj"}, set(), {"obj"}, set())
    assert rw(sess.run("obj.y = obj.x")) == ({"obj"}, set(), {"obj"}, set())
    assert rw(sess.run("arr[1] = 7")) == ({"arr"}, set(), {"arr"}, set())
    assert rw(sess.run("arr[1] = 7")) == ({"arr"}, set(), set(), set())  # same value: not modified


def test_mutation_inside_user_function(sess: Any) -> None:
    sess.run("data = []\ncounter = 0\ndef push(x):\n    data.append(x)\ndef bump():\n    global counter\n    counter += 1")
    assert rw(sess.run("push(1)")) == ({"push", "data"}, set(), {"data"}, set())
    assert rw(sess.run("bump()")) == ({"bump", "counter"}, set(), {"counter"}, set())
    # a function that calls another function that mutates a global
    sess.run("def outer():\n    push(2)")
    assert rw(sess.run("outer()")) == ({"outer", "push", "data"}, set(), {"data"}, set())


def test_method_of_user_class_reads_globals(sess: Any) -> None:
    sess.run("scale = 2\nclass M:\n    def __init__(self):\n        self.v = 1\n    def go(self):\n        self.v *= scale\nm = M()")
    assert rw(sess.run("m.go()")) == ({"m", "scale"}, set(), {"m"}, set())


def test_numpy_views(sess: Any) -> None:
    sess.run("import numpy as np\na = np.zeros((4, 6))\nX = a[:, :2]\nunrelated = np.ones(3)")
    assert rw(sess.run("X[0, 0] = 5")) == ({"X"}, set(), {"X", "a"}, set())
    assert rw(sess.run("a[3, 5] = 1")) == ({"a"}, set(), {"a"}, set())  # outside X's window
    assert rw(sess.run("a[0, 1] += 1")) == ({"a"}, set(), {"X", "a"}, set())
    groups = sess.call("variables")[0]["groups"]
    assert ["X", "a"] in groups and ["unrelated"] in groups


def test_pandas_shared_columns_are_grouped(sess: Any) -> None:
    sess.run("import pandas as pd\ndf = pd.DataFrame({'a': [1.0, 2.0], 'b': [3.0, 4.0]})\ns = df['a']\n"
             "df2 = df.copy(deep=False)\nindep = df.copy()")
    groups = sess.call("variables")[0]["groups"]
    assert ["df", "df2", "s"] in groups and ["indep"] in groups
    # copy-on-write: writing df does not change s or df2, but all three are re-checked
    r = sess.run("df.loc[0, 'a'] = 99.0")
    assert rw(r) == ({"df"}, set(), {"df"}, set())
    assert float(sess.ns["s"].iloc[0]) == 1.0
    assert rw(sess.run("df['a'] += 1")) == ({"df"}, set(), {"df"}, set())


def test_star_import_creates_and_rebinds(sess: Any) -> None:
    sess.run("pi = 3\nmine = 1")
    r = sess.run("from math import *")
    created, modified = set(r["created"]), set(r["modified"])
    assert {"sqrt", "tau", "e"} <= created and "pi" not in created
    assert modified == {"pi"} and set(r["read"]) == set()


def test_redefined_function_and_class(sess: Any) -> None:
    sess.run("def f():\n    return 1\nclass C:\n    x = 1")
    assert rw(sess.run("def f():\n    return 1")) == (set(), set(), {"f"}, set())  # rebinding
    assert rw(sess.run("class C:\n    x = 2")) == (set(), set(), {"C"}, set())
    assert rw(sess.run("C.x = 3")) == ({"C"}, set(), {"C"}, set())


def test_partial_writes_of_failing_cell(sess: Any) -> None:
    sess.run("items = [1]\nkeep = 0")
    r = sess.run("items.append(2)\nnew = 5\nraise ValueError('boom')\nkeep = 1", expect_ok=False)
    assert r["success"] is False and r["error"] == {"ename": "ValueError", "evalue": "boom"}
    assert rw(r) == ({"items"}, {"new"}, {"items"}, set())


def test_syntax_error_cell_changes_nothing(sess: Any) -> None:
    sess.run("v = 1")
    r = sess.run("v = = 2", expect_ok=False)
    assert r["success"] is False and r["created"] == [] and r["modified"] == [] and r["deleted"] == []


def test_magics_and_shell_escapes(sess: Any) -> None:
    sess.run("n = 3\nname = 'x'")
    assert rw(sess.run("%time m = n * 2")) == ({"n"}, {"m"}, set(), set())
    assert rw(sess.run("%timeit -n1 -r1 n + 1")) == ({"n"}, set(), set(), set())
    r = sess.run("!echo {name} $n")
    assert rw(r) == ({"name", "n"}, set(), set(), set())
    assert any(e["kind"] == "subprocess" for e in r["sideEffects"])
    out = sess.run("files = !echo hi")
    assert rw(out) == (set(), {"files"}, set(), set())


def test_capture_cell_magic(sess: Any) -> None:
    sess.run("acc = []")
    r = sess.run("%%capture cap\nacc.append(1)\nprint('hidden')\nz = len(acc)")
    assert rw(r) == ({"acc"}, {"cap", "z"}, {"acc"}, set())
    assert len(sess.records()) == 2 + 0  # the nested run_cell of %%capture is not recorded separately


def test_eval_exec_mean_everything(sess: Any) -> None:
    sess.run("p = [1]\nq = 2")
    r = sess.run("exec('p.append(3)')")
    assert r["readsAll"] and r["touchAll"]
    assert rw(r) == ({"p", "q"}, set(), {"p"}, set())
    r = sess.run("globals()['q'] = 5")
    assert rw(r) == ({"p", "q"}, set(), {"q"}, set())


def test_unknown_magic_is_conservative(sess: Any) -> None:
    sess.run("w = [1]")
    r = sess.run("%reset_selective -f w")
    assert r["touchAll"] and set(r["deleted"]) == {"w"}


def test_cell_defining_function_does_not_read_its_body(sess: Any) -> None:
    sess.run("g1 = 1")
    assert rw(sess.run("def h():\n    return g1")) == (set(), {"h"}, set(), set())
    assert rw(sess.run("def h2():\n    return g1\nval = h2()")) == ({"g1"}, {"h2", "val"}, set(), set())
    assert rw(sess.run("res = list(map(lambda t: t + g1, [1]))")) == ({"g1"}, {"res"}, set(), set())


def test_comprehension_and_class_body_reads(sess: Any) -> None:
    sess.run("base = [1, 2]\nk = 3")
    assert rw(sess.run("sq = [x * k for x in base]")) == ({"base", "k"}, {"sq"}, set(), set())
    assert rw(sess.run("class T:\n    y = k")) == ({"k"}, {"T"}, set(), set())


def test_unknown_provenance_reported(shell: Any) -> None:
    import nbferry_shim

    nbferry_shim.detach()
    shell.reset(new_session=False)
    shell.run_cell("pre1 = 1\npre2 = [2]", store_history=True)
    shim = nbferry_shim.attach(shell)
    try:
        from conftest import Session

        s = Session(shell, shim)
        hello = s.call("hello")[0]
        assert hello["unknownProvenance"] == ["pre1", "pre2"]
        s.run("pre1 = 5\npre2.append(3)")
        assert s.call("hello")[0]["unknownProvenance"] == ["pre2"]  # pre1 now fully produced by a cell
    finally:
        nbferry_shim.detach()


def test_history_and_hello_ops(sess: Any) -> None:
    sess.run("a = 1")
    sess.run("b = 2")
    hello = sess.call("hello")[0]
    assert hello["version"] and hello["pid"] > 0 and hello["lastSeq"] == 2
    h = sess.call("history", since=1)[0]
    assert [r["created"] for r in h["records"]] == [["b"]] and h["truncated"] is False
    assert sess.call_err("nope").startswith("unknown op")


def test_trivial_cell_is_cheap_with_big_state(sess: Any) -> None:
    sess.run("import numpy as np\nbig = [np.ones(1 << 20) for _ in range(8)]\nobjs = [[i] for i in range(200000)]")
    # The cost itself is measured by bench/overhead.py and npm run bench:recorder, not asserted
    # here; what must hold is that the cell is judged without touching the big state at all.
    records = [sess.run("x = 1") for _ in range(3)]
    for r in records:
        assert r["read"] == [] and r["modified"] == [] and r["unhashed"] == [] and not r["touchAll"]
