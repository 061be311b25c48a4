"""Import-only cells: imports plus configuration calls into what the cell imported."""

from __future__ import annotations

from typing import Any

import pytest

from nbferry_shim.importonly import import_only


@pytest.mark.parametrize("src", [
    "import os\nimport numpy as np",
    "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt",
    "'''setup'''\nfrom sklearn.model_selection import KFold, train_test_split\nimport warnings\nwarnings.filterwarnings('ignore')",
    "get_ipython().run_line_magic('matplotlib', 'inline')\nimport pandas as pd\npd.set_option('display.max_columns', 50)",
    # A bare call into an imported module counts as configuration: its result is not bound, so
    # nothing depends on it; only the rerun *cost* is discounted, the rerun itself still happens.
    "import pandas as pd\npd.read_csv('train.csv')",
])
def test_import_only(src: str) -> None:
    assert import_only(src)


@pytest.mark.parametrize("src", [
    "x = 1",
    "import numpy as np\ndata = np.load('x.npy')",
    "from math import *",
    "import os\nprint(os.getcwd())",
    "get_ipython().run_line_magic('time', 'import numpy')",
    "import numpy as np\nfor i in range(3):\n    pass",
    "def f(:",
])
def test_not_import_only(src: str) -> None:
    assert not import_only(src)


def test_record_flags_import_cells(sess: Any) -> None:
    assert sess.run("import json\nimport os.path")["importOnly"] is True
    assert sess.run("import json as j2\nn = 1")["importOnly"] is False
    assert sess.run("m = 2")["importOnly"] is False
