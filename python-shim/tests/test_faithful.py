"""The faithful rule: which values an intact (checksum-verified, unpickled) load reproduces, so a
restore need not fingerprint them again."""

from __future__ import annotations

from typing import Any


def test_plain_data_and_default_reductions_are_faithful_custom_hooks_are_not(sess: Any) -> None:
    sess.run("import numpy as np, pandas as pd\n"
             "plain = {'a': [1, 2.5, 'x'], 's': {3, 1, 2}, 't': (None, b'b')}\n"
             "arr = np.arange(12).reshape(3, 4)\n"
             "df = pd.DataFrame({'x': [1, 2], 'c': pd.Categorical(['u', 'v'])})\n"
             "class Plain:\n    def __init__(self):\n        self.v = [1, 2]\n"
             "class Cached:\n    def __init__(self):\n        self.v = 1\n"
             "    def __getstate__(self):\n        return {'v': self.v}\n"
             "class Rebuilt:\n    def __reduce__(self):\n        return (Rebuilt, ())\n"
             "p = Plain()\nc = Cached()\nr = [Rebuilt()]\n"
             "def f(x):\n    return x + 1")
    v = sess.call("measure")[0]["variables"]
    for name in ("plain", "arr", "df", "p", "f"):
        assert v[name]["faithful"] is True, (name, v[name])
    assert v["c"]["faithful"] is False  # its own __getstate__: determinism unknown
    assert v["r"]["faithful"] is False  # one such object anywhere inside the value is enough


def test_unverifiable_values_are_never_faithful(sess: Any) -> None:
    sess.run("gen = (i for i in range(3))")
    v = sess.call("measure")[0]["variables"]["gen"]
    assert v["reliable"] is False and v["faithful"] is False


def test_a_library_class_whose_setstate_drops_state_is_not_faithful_estimators_are(sess: Any) -> None:
    sess.run("from sklearn.utils import Bunch\nfrom sklearn.linear_model import LinearRegression\n"
             "import numpy as np\n"
             "result = Bunch(importances=np.ones(3))\nresult.note = 'kept only in __dict__'\n"
             "model = LinearRegression().fit(np.arange(6).reshape(3, 2), np.arange(3))")
    v = sess.call("measure")[0]["variables"]
    assert v["result"]["faithful"] is False  # Bunch.__setstate__ drops its attributes
    assert v["model"]["faithful"] is True


def test_rule_by_type() -> None:
    import collections

    from nbferry_shim import faithful

    assert faithful.unfaithful_reason(collections.OrderedDict) is None  # collections: a data dump
    assert faithful.unfaithful_reason(dict) is None

    class Hooked:
        def __setstate__(self, state: Any) -> None:
            pass

    assert "defines __setstate__" in (faithful.unfaithful_reason(Hooked) or "")
