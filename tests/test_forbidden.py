"""Forbidden high-level APIs: the static search (trusted side) and the runtime traps (sandbox)."""

import json
import re
import textwrap

import pytest

from harness.checks.forbidden import (
    SUSPICIOUS,
    Use,
    alias_tables,
    describe,
    find_forbidden,
    find_suspicious,
)

# One edition forbids every recurrent layer and linear layer; another only the LSTM.
RNN_EDITION = [
    "torch.nn.RNN",
    "torch.nn.LSTM",
    "torch.nn.GRU",
    "torch.nn.Linear",
    "torch.nn.RNNCell",
    "torch.nn.LSTMCell",
    "torch.nn.GRUCell",
    "torch.nn.functional.linear",
    "torch._VF.*",
]
LSTM_EDITION = ["torch.nn.LSTM", "torch.nn.LSTMCell", "torch.nn.functional.lstm", "torch._VF.lstm"]


@pytest.fixture(params=["static", "torch"])
def use_torch(request):
    """Run a case with the static alias table and with the one built from torch."""
    if request.param == "torch":
        pytest.importorskip("torch")
    return request.param == "torch"


def uses(source, forbidden=RNN_EDITION, use_torch=False, name="model.py"):
    return find_forbidden({name: textwrap.dedent(source)}, forbidden=forbidden, use_torch=use_torch)


def suspicious(source, forbidden=RNN_EDITION, name="model.py"):
    return find_suspicious({name: textwrap.dedent(source)}, forbidden=forbidden, use_torch=False)


def found(result):
    return [(u.line, u.api) for u in result]


# -- resolution ------------------------------------------------------------------------------

# (id, source, [(line, api)], a phrase expected in the first use's ``how``)
RESOLUTION_CASES = [
    ("import-torch", "import torch\nm = torch.nn.LSTM(3, 4)\n", [(2, "torch.nn.LSTM")], "torch.nn.LSTM"),
    ("import-as", "import torch as T\nm = T.nn.LSTM(3, 4)\n", [(2, "torch.nn.LSTM")], "T is torch"),
    ("import-submodule-as", "import torch.nn as nn\nm = nn.LSTM(3, 4)\n", [(2, "torch.nn.LSTM")], "nn.LSTM"),
    ("from-import-module", "from torch import nn\nm = nn.GRU(3, 4)\n", [(2, "torch.nn.GRU")], "nn.GRU"),
    (
        "from-import-as",
        "from torch.nn import LSTM as Thing\nm = Thing(3, 4)\n",
        [(1, "torch.nn.LSTM")],
        "imported as Thing",
    ),
    (
        "from-import-star",
        "from torch.nn import *\n\nclass M(Module):\n    def __init__(self):\n        self.rnn = LSTM(3, 4)\n",
        [(5, "torch.nn.LSTM")],
        "from torch.nn import *",
    ),
    (
        "module-path",
        "import torch.nn as nn\nm = nn.modules.rnn.LSTM(3, 4)\n",
        [(2, "torch.nn.LSTM")],
        "nn.modules.rnn.LSTM",
    ),
    (
        "from-module-path",
        "from torch.nn.modules.linear import Linear\n",
        [(1, "torch.nn.Linear")],
        "from torch.nn.modules.linear import Linear",
    ),
    (
        "assigned-class",
        "import torch.nn as nn\nLayerType = nn.LSTM\nlayer = LayerType(3, 4)\n",
        [(2, "torch.nn.LSTM")],
        "nn.LSTM",
    ),
    ("assigned-module", "import torch.nn as nn\nm = nn\nx = m.LSTM\n", [(3, "torch.nn.LSTM")], "m is torch.nn"),
    ("getattr", "import torch.nn as nn\nL = getattr(nn, 'LSTM')\n", [(2, "torch.nn.LSTM")], "getattr(nn, 'LSTM')"),
    (
        "getattr-concat",
        "import torch.nn as nn\nL = getattr(nn, 'LS' + 'TM')\n",
        [(2, "torch.nn.LSTM")],
        "'LS' + 'TM'",
    ),
    (
        "getattr-fstring",
        "import torch.nn as nn\na = 'LS'\nL = getattr(nn, f'{a}TM')\n",
        [(3, "torch.nn.LSTM")],
        "passed to getattr",
    ),
    (
        "getattr-join",
        "import torch.nn as nn\nparts = ['Lin', 'ear']\nL = getattr(nn, ''.join(parts))\n",
        [(3, "torch.nn.Linear")],
        "'Linear'",
    ),
    ("getattr-reversed", "import torch.nn as nn\nL = getattr(nn, 'MTSL'[::-1])\n", [(2, "torch.nn.LSTM")], "'MTSL'[::-1]"),
    (
        "getattr-generator",
        "import torch.nn as nn\nL = getattr(nn, ''.join(chr(c) for c in [71, 82, 85]))\n",
        [(2, "torch.nn.GRU")],
        "'GRU'",
    ),
    (
        "getattr-loop",
        "import torch.nn as nn\nfor name in ('RNN', 'Identity'):\n    layer = getattr(nn, name)\n",
        [(3, "torch.nn.RNN")],
        "getattr",
    ),
    (
        "import-module",
        "import importlib\nL = importlib.import_module('torch.nn').LSTM\n",
        [(2, "torch.nn.LSTM")],
        "importlib.import_module('torch.nn').LSTM",
    ),
    (
        "dunder-import",
        "L = __import__('torch.nn', fromlist=['LSTM']).LSTM\nG = __import__('torch.nn').nn.GRU\n",
        [(1, "torch.nn.LSTM"), (2, "torch.nn.GRU")],
        "__import__",
    ),
    (
        "getattribute-and-attrgetter",
        "import operator\nimport torch.nn as nn\na = nn.__getattribute__('LSTM')\nb = object.__getattribute__(nn, 'GRU')\nc = operator.attrgetter('Lin' + 'ear')(nn)\n",
        [(3, "torch.nn.LSTM"), (4, "torch.nn.GRU"), (5, "torch.nn.Linear")],
        "nn.__getattribute__('LSTM')",
    ),
    ("sys-modules", "import sys\nL = sys.modules['torch.nn'].LSTM\n", [(2, "torch.nn.LSTM")], "sys.modules"),
    (
        "vars-and-dict",
        "import torch.nn as nn\na = vars(nn)['GRU']\nb = nn.__dict__['Linear']\n",
        [(2, "torch.nn.GRU"), (3, "torch.nn.Linear")],
        "vars(nn)",
    ),
    (
        "functional",
        "import torch.nn.functional as F\ndef f(x, w):\n    return F.linear(x, w)\n",
        [(3, "torch.nn.functional.linear")],
        "F.linear",
    ),
    (
        "functional-builtin",
        "import torch\ny = torch._C._nn.linear\n",
        [(2, "torch.nn.functional.linear")],
        "torch._C._nn.linear",
    ),
    ("vf-attribute", "import torch\nh = torch._VF.rnn_tanh(1)\n", [(2, "torch._VF.rnn_tanh")], "torch._VF.rnn_tanh"),
    (
        "vf-imported",
        "from torch import _VF\nh = _VF.gru(1)\n",
        [(1, "torch._VF"), (2, "torch._VF.gru")],
        "imported",
    ),
    (
        "vf-through-module",
        "import torch.nn.modules.rnn as r\nh = r._VF.lstm(1)\n",
        [(2, "torch._VF.lstm")],
        "r._VF.lstm",
    ),
    (
        "exec",
        "import torch.nn as nn\nexec('m = nn.' + 'LSTM(3, 4)')\n",
        [(2, "torch.nn.LSTM")],
        "code built in a string passed to exec",
    ),
    (
        "exec-import",
        "exec('from torch.nn import GRU as G')\nG(1, 2)\n",
        [(1, "torch.nn.GRU")],
        "code built in a string passed to exec",
    ),
    (
        "eval",
        "import torch.nn as nn\nL = eval('nn.Lin' + 'ear')\nx = L(2, 3)\n",
        [(2, "torch.nn.Linear")],
        "code built in a string passed to eval",
    ),
    (
        "compile-then-exec",
        "import torch.nn as nn\ncode = compile('x = nn.RNN(1, 2)', 'f', 'exec')\nexec(code)\n",
        [(2, "torch.nn.RNN")],
        "compile",
    ),
    (
        "in-a-method",
        "import torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.out = nn.Linear(4, 2)\n",
        [(5, "torch.nn.Linear")],
        "nn.Linear",
    ),
    (
        "default-argument",
        "import torch.nn as nn\ndef make(kind=nn.GRUCell):\n    return kind(1, 2)\n",
        [(2, "torch.nn.GRUCell")],
        "nn.GRUCell",
    ),
    (
        "subclass",
        "from torch import nn\nclass Mine(nn.LSTMCell):\n    pass\n",
        [(2, "torch.nn.LSTMCell")],
        "nn.LSTMCell",
    ),
]


@pytest.mark.parametrize(
    "source, expected, how", [c[1:] for c in RESOLUTION_CASES], ids=[c[0] for c in RESOLUTION_CASES]
)
def test_every_way_of_reaching_a_forbidden_api_is_resolved(source, expected, how, use_torch):
    result = uses(source, use_torch=use_torch)
    assert found(result) == expected, result
    assert how in result[0].how
    assert all(u.file == "model.py" and u.col >= 1 for u in result)


def test_a_use_carries_the_line_its_context_and_the_rule():
    source = "import torch\nimport torch.nn as nn\n\n\nclass M(nn.Module):\n    def __init__(self):\n        self.rnn = nn.LSTM(3, 4)\n\n\nx = 1\n"
    (use,) = uses(source)
    assert (use.file, use.line, use.col, use.api, use.rule) == ("model.py", 7, 20, "torch.nn.LSTM", "torch.nn.LSTM")
    assert use.code == "self.rnn = nn.LSTM(3, 4)"
    assert len(use.context) == 5 and use.context[2].startswith(">")
    assert "self.rnn = nn.LSTM(3, 4)" in use.context[2]
    (vf,) = uses("import torch\ntorch._VF.gru_cell(1)\n")
    assert (vf.api, vf.rule) == ("torch._VF.gru_cell", "torch._VF.*")


def test_an_alias_is_reported_where_it_is_made_not_at_every_use():
    source = """\
        import torch.nn as nn
        L = nn.LSTM
        a = L(3, 4)
        b = L.forward
        c = getattr(L, 'forward')
        d = nn.LSTM.__init__
        e = nn.LSTM(1, 2); f = nn.LSTM(2, 3)
    """
    assert found(uses(source)) == [(2, "torch.nn.LSTM"), (6, "torch.nn.LSTM"), (7, "torch.nn.LSTM")]


def test_same_object_under_other_names(use_torch):
    # torch.lstm is the very function torch._VF.lstm; forbidding one forbids the other.
    assert found(uses("import torch\ny = torch.lstm\n", LSTM_EDITION, use_torch)) == [(2, "torch._VF.lstm")]
    assert found(uses("from torch.nn.modules import LSTM\n", LSTM_EDITION, use_torch)) == [(1, "torch.nn.LSTM")]
    # A namespace is matched by the path written: torch.tanh is fine, torch._VF.tanh is not.
    assert uses("import torch\ny = torch.tanh(torch.zeros(1))\n", use_torch=use_torch) == []
    assert found(uses("import torch\ny = torch._VF.tanh\n", use_torch=use_torch)) == [(2, "torch._VF.tanh")]
    # Listing a module path works too.
    assert found(uses("import torch.nn as nn\nx = nn.LSTM\n", ["torch.nn.modules.rnn.LSTM"], use_torch)) == [
        (2, "torch.nn.modules.rnn.LSTM")
    ]


def test_the_static_table_agrees_with_torch():
    pytest.importorskip("torch")
    from harness.checks.forbidden import _Names

    static, real = _Names(alias_tables(False)), _Names(alias_tables(True))
    assert real.tables.from_torch and not static.tables.from_torch
    paths = [
        "torch.nn.modules.rnn.LSTM",
        "torch.nn.modules.LSTM",
        "torch.nn.modules.rnn.GRUCell",
        "torch.nn.modules.linear.Linear",
        "torch.nn.modules.rnn.LSTM.forward",
        "torch._VF.lstm",
        "torch._VF.gru_cell",
        "torch._VF.rnn_tanh",
        "torch._C._VariableFunctions.lstm",
        "torch._C._nn.linear",
        "torch.nn.modules.linear.F.linear",
        "torch.nn.modules.rnn._VF.lstm",
        "torch.nn.LSTM",
        "torch.nn.functional.linear",
        "torch.lstm",
    ]
    for path in paths:
        assert static.canonical(path) == real.canonical(path), path
    assert real.canonical("torch.nn.modules.rnn.LSTM") == "torch.nn.LSTM"
    assert real.canonical("torch._VF.lstm") == real.canonical("torch.lstm") == "torch.lstm"
    assert real.canonical("torch._C._nn.linear") == "torch.nn.functional.linear"


# -- what must not count ----------------------------------------------------------------------

CLEAN = '''\
"""An LSTM from scratch.  We may not use nn.LSTM, torch.nn.Linear or F.linear here."""
import torch
import torch.nn as nn
from torch.nn import *  # Module, Parameter, ...

# self.rnn = nn.LSTM(3, 4)   <- not allowed, so we write our own
NOTE = "torch.nn.LSTM is forbidden; so is getattr(nn, 'LSTM')"
name = "LS" + "TM"
Linear = 3


class LSTM(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.W = nn.Parameter(torch.randn(n_in + n_hidden, 4 * n_hidden))
        self.LSTM = None
        self.Linear = Linear * 2
        self.loss = nn.CrossEntropyLoss()

    def forward(self, x, h, c):
        gates = torch.cat([x, h], dim=1) @ self.W
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


model = LSTM(3, 4)
layer = getattr(model, "LSTM")
criterion = CrossEntropyLoss()
exec("total = 1 + 2")
'''


def test_comments_strings_and_allowed_names_do_not_count(use_torch):
    assert uses(CLEAN, use_torch=use_torch) == []
    assert suspicious(CLEAN) == []


def test_what_an_edition_does_not_forbid_is_fine():
    source = "import torch.nn as nn\na = nn.LSTMCell(1, 2)\nb = nn.Linear(2, 3)\nc = nn.GRU(1, 2)\n"
    assert found(uses(source, LSTM_EDITION)) == [(2, "torch.nn.LSTMCell")]
    assert uses("import torch.nn as nn\nx = nn.LSTMCellular\n", LSTM_EDITION) == []


def test_a_local_name_shadows_the_forbidden_one():
    source = """\
        from torch.nn import *
        class GRU(Module):
            pass
        def build(LSTM):
            return LSTM(3, 4)
        a = GRU()
        b = RNN(1, 2)
    """
    assert found(uses(source)) == [(7, "torch.nn.RNN")]


# -- files: notebooks, syntax errors ------------------------------------------------------------


def notebook(*cells):
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
                for kind, source in cells
            ],
        }
    )


def test_notebook_code_cells_share_names_and_report_cell_and_line():
    nb = notebook(
        ("code", "%matplotlib inline\nimport torch\nimport torch.nn as nn"),
        ("markdown", "We must not use `nn.LSTM`."),
        ("code", "!pip install nothing\nx = 1\nrnn = nn.LSTM(3, 4)"),
        ("code", "def broken(:\n    nn.GRU(1, 2)"),
        ("code", "layer = getattr(nn, 'Lin' + 'ear')"),
    )
    result = find_forbidden({"work/lab.ipynb": nb}, forbidden=RNN_EDITION, use_torch=False)
    assert [(u.file, u.line, u.api) for u in result] == [
        ("work/lab.ipynb cell 2", 3, "torch.nn.LSTM"),
        ("work/lab.ipynb cell 4", 1, "torch.nn.Linear"),
    ]
    assert result[0].code == "rnn = nn.LSTM(3, 4)"
    assert "lab.ipynb cell 2, line 3" in describe(result)


def test_unreadable_files_report_nothing_and_others_still_count():
    files = {
        "broken.py": "import torch.nn as nn\nm = nn.LSTM(3, 4\n",
        "nulls.py": "import torch\x00\n",
        "not_json.ipynb": "{this is not json",
        "ok.py": "import torch.nn as nn\nm = nn.GRU(3, 4)\n",
        "notes.txt": "nn.LSTM",
    }
    result = find_forbidden(files, forbidden=RNN_EDITION, use_torch=False)
    assert [(u.file, u.api) for u in result] == [("ok.py", "torch.nn.GRU")]
    assert find_suspicious(files, forbidden=RNN_EDITION, use_torch=False) == []


# -- suspicious -----------------------------------------------------------------------------------


def test_dynamic_access_that_cannot_be_resolved_is_suspicious_not_confirmed():
    source = """\
        import importlib
        import torch
        import torch.nn as nn
        name = input()
        exec(name)
        f = eval(open('x.txt').read())
        code = compile(name, 'f', 'exec')
        layer = getattr(nn, name)
        mod = importlib.import_module(name)
        item = torch.__dict__[name]
        safe = getattr(object(), name)
    """
    assert uses(source) == []
    flagged = suspicious(source)
    assert [u.line for u in flagged] == [5, 6, 7, 8, 9, 10]
    assert all(u.api == SUSPICIOUS and u.rule == "dynamic" for u in flagged)
    assert "exec of code that is not a constant string" in flagged[0].how
    assert "getattr(nn, name)" in flagged[3].how


def test_mentions_that_are_not_uses_are_suspicious():
    source = """\
        import torch.nn as nn
        def init(m: nn.Linear) -> None:
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                pass
        exec("x = thing.LSTM(1)")
        exec("x = MyLSTM(1)")
    """
    assert uses(source) == []
    flagged = suspicious(source)
    assert [(u.line, u.api, u.rule) for u in flagged] == [
        (2, "torch.nn.Linear", "mention"),
        (3, "torch.nn.Linear", "mention"),
        (5, SUSPICIOUS, "string"),
    ]
    assert "isinstance" in flagged[1].how and "LSTM" in flagged[2].how


def test_code_too_deep_to_follow_is_flagged_and_the_rest_still_counts(monkeypatch):
    from harness.checks import forbidden

    monkeypatch.setattr(forbidden, "_RECURSION", 100)  # the default limit: 1,000 frames
    deep = "import torch.nn as nn\nx = " + " + ".join(["'L'"] * 700) + "\n"
    files = {"deep.py": deep, "plain.py": "import torch.nn as nn\nm = nn.LSTM(1, 2)\n"}
    assert [u.file for u in find_forbidden(files, forbidden=RNN_EDITION, use_torch=False)] == ["plain.py"]
    (flagged,) = find_suspicious(files, forbidden=RNN_EDITION, use_torch=False)
    assert (flagged.file, flagged.rule) == ("deep.py", "unreadable")


def test_describe_is_written_for_the_student():
    result = uses("import torch.nn as nn\nm = nn.LSTM(3, 4)\n")
    text = describe(result)
    assert text.startswith("model.py, line 2")
    assert "uses torch.nn.LSTM" in text and "nn.LSTM(3, 4)" in text and "attribute chain" in text
    assert describe([]) == "No use of a forbidden API was found."
    odd = describe(suspicious("import torch\nexec(input())\n"))
    assert "a TA will look" in odd
    assert isinstance(result[0], Use)


# -- runtime traps, in a real student process --------------------------------------------------------

TRAPPED_MODELS = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F


def joined():
    cls = getattr(nn, "".join(["LS", "TM"]))
    m = cls(3, 4)  # MARK joined-init
    out, _ = m(torch.zeros(2, 1, 3))  # MARK joined-forward
    return tuple(out.shape)


def built_exec():
    scope = {"nn": nn}
    exec("layer = nn." + "Lin" + "ear(3, 2)", scope)  # MARK exec
    return tuple(scope["layer"](torch.zeros(1, 3)).shape)


def via_modules():
    import torch.nn.modules.rnn as rnn
    return rnn.LSTM(2, 3).hidden_size  # MARK modules


def functional():
    return tuple(F.linear(torch.ones(1, 2), torch.ones(3, 2)).shape)  # MARK linear


def vf():
    x, h, w, u = torch.zeros(1, 2), torch.zeros(1, 3), torch.zeros(3, 2), torch.zeros(3, 3)
    return tuple(torch._VF.rnn_tanh_cell(x, h, w, u).shape)  # MARK vf


def attention():
    return nn.MultiheadAttention(4, 2).embed_dim  # MARK attention
'''

CLEAN_MODEL = """\
import torch
import torch.nn as nn


class MyLSTM(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.n = n_hidden
        self.W = nn.Parameter(torch.randn(n_in + n_hidden, 4 * n_hidden) * 0.1)
        self.b = nn.Parameter(torch.zeros(4 * n_hidden))

    def forward(self, xs):
        h = c = torch.zeros(xs.shape[1], self.n)
        for x in xs:
            i, f, g, o = (torch.cat([x, h], 1) @ self.W + self.b).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        return h


def train_step():
    model = MyLSTM(3, 4)
    loss = nn.CrossEntropyLoss()(model(torch.randn(5, 2, 3)), torch.tensor([0, 1]))
    loss.backward()
    return float(loss.detach())
"""


TRAPPED_NOTEBOOK = notebook(
    ("code", "import torch\nimport torch.nn as nn"),
    ("code", "def gru_step():\n    g = nn.GRUCell(2, 3)\n    return g.hidden_size"),
    ("code", "gru_step()\nfor epoch in range(10**9):\n    pass"),
)


def marks(source):
    return {m[1]: n for n, line in enumerate(source.splitlines(), 1) if (m := re.search(r"# MARK (\S+)", line))}


@pytest.mark.sandbox
def test_traps_record_what_the_student_really_calls(backend, make_session):
    session = make_session(
        backend,
        {"models.py": TRAPPED_MODELS, "clean.py": CLEAN_MODEL, "lab.ipynb": TRAPPED_NOTEBOOK},
        call_timeout=30,
        budget=120,
        memory=2 * 1024**3,
    )
    forbidden = [*RNN_EDITION, "torch._VF.lstm", "torch.nn.functional.lstm"]
    status = session.op("install_traps", forbidden)
    assert session.op("install_traps", forbidden) == status  # idempotent
    assert status["trapped"]["torch.nn.LSTM"] == "class"
    assert status["trapped"]["torch.nn.functional.linear"] == "function"
    assert status["trapped"]["torch._VF.*"] == "namespace"
    assert list(status["unresolved"]) == ["torch.nn.functional.lstm"]

    clean = session.load("clean.py")
    assert clean.train_step() > 0
    assert session.op("trap_report") == []

    models = session.load("models.py")
    assert models.joined() == (2, 1, 4)
    assert models.built_exec() == (1, 2)
    assert models.via_modules() == 3
    assert models.functional() == (1, 3)
    assert models.vf() == (1, 3)
    records = session.op("trap_report")
    got = {(r["api"], r["line"]) for r in records}
    line = marks(TRAPPED_MODELS)
    assert got >= {
        ("torch.nn.LSTM", line["joined-init"]),
        ("torch.nn.LSTM", line["joined-forward"]),
        ("torch.nn.Linear", line["exec"]),
        ("torch.nn.LSTM", line["modules"]),
        ("torch.nn.functional.linear", line["linear"]),
        ("torch._VF.rnn_tanh_cell", line["vf"]),
    }, records
    # nn.LSTM.forward calls torch._VF.lstm and nn.Linear.forward calls F.linear: not the student's doing.
    assert not any(r["api"] in ("torch._VF.lstm", "torch._VF.*") for r in records), records
    assert [r["line"] for r in records if r["api"] == "torch.nn.functional.linear"] == [line["linear"]]
    for r in records:
        assert r["file"] == "models.py" and r["direct"] and r["count"] == 1, r
    by_line = {r["line"]: r for r in records}
    assert by_line[line["exec"]]["code"].startswith('exec("layer = nn."')
    assert by_line[line["joined-init"]]["kinds"] == ["init"]
    assert by_line[line["joined-forward"]]["kinds"] == ["forward"]
    assert by_line[line["linear"]]["function"] == "functional"

    # Another allowed torch API that builds a forbidden one is recorded as indirect.
    assert models.attention() == 4
    (built,) = [r for r in session.op("trap_report") if r["line"] == line["attention"]]
    assert (built["api"], built["direct"]) == ("torch.nn.Linear", False)
    assert "MultiheadAttention" in built["via"]

    # A notebook loaded for its definitions: the cell and the line within it.
    assert session.load("lab.ipynb").gru_step() == 3
    (cell,) = [r for r in session.op("trap_report") if r["api"] == "torch.nn.GRUCell"]
    assert (cell["file"], cell["line"], cell["code"]) == ("lab.ipynb cell 1", 2, "g = nn.GRUCell(2, 3)")

    # The grader's own calls into torch are not the student's uses.
    before = len(session.op("trap_report"))
    session.import_module("torch.nn").Linear(2, 3)
    assert len(session.op("trap_report")) == before


def test_a_dynamic_access_flags_the_submission_for_a_ta(tmp_path):
    from _shared.palindrome import flag_dynamic_access
    from harness.checks.context import Evidence

    settings = {"forbidden": ["torch.nn.LSTM"]}
    hidden = (
        "import base64\nfrom torch import nn\n"
        "Cell = getattr(nn, base64.b64decode('TFNUTQ==').decode())\n"
    )
    evidence = Evidence(tmp_path)
    flag_dynamic_access({"part1/lstm.py": hidden}, settings, evidence)
    assert len(evidence.reviews) == 1 and "part1/lstm.py, line 3" in evidence.reviews[0]
    plain = Evidence(tmp_path)
    flag_dynamic_access({"part1/lstm.py": "import torch\nx = torch.tanh\n"}, settings, plain)
    assert plain.reviews == []


FUSED_BY_OTHER_ROADS = """\
import torch

H = 4


def weights():
    g = torch.Generator().manual_seed(0)
    return [torch.randn(4 * H, n, generator=g) for n in (3, H)] + [torch.zeros(4 * H)] * 2


def fused_cell():
    x, h, c = torch.ones(2, 3), torch.zeros(2, H), torch.zeros(2, H)
    return tuple(torch.lstm_cell(x, (h, c), *weights())[0].shape)  # MARK plain


def dispatcher_cell():
    x, h, c = torch.ones(2, 3), torch.zeros(2, H), torch.zeros(2, H)
    out = torch.ops.aten.lstm_cell.default(x, [h, c], *weights())  # MARK overload
    return tuple(out[0].shape)


def dispatcher_linear():
    return tuple(torch.ops.aten.linear(torch.ones(2, 3), torch.ones(5, 3)).shape)  # MARK packet
"""


def test_fused_kernels_are_found_by_every_name_they_have():
    forbidden = ["torch.lstm_cell", "torch.rnn_tanh_cell", "torch.nn.functional.linear"]
    uses = find_forbidden({"m.py": FUSED_BY_OTHER_ROADS}, forbidden=forbidden)
    line = marks(FUSED_BY_OTHER_ROADS)
    assert {(u.api, u.line) for u in uses} == {
        ("torch.lstm_cell", line["plain"]),
        ("torch.lstm_cell", line["overload"]),
        ("torch.nn.functional.linear", line["packet"]),
    }
    rnn = "import torch\nfrom torch import _VF\ny = _VF.rnn_tanh_cell(1, 2, 3, 4, 5, 6)\n"
    assert [u.api for u in find_forbidden({"r.py": rnn}, forbidden=forbidden)] == [
        "torch.rnn_tanh_cell"
    ]
    # The operators that are not forbidden stay allowed, by any road.
    fine = "import torch\ny = torch.ops.aten.addmm(1, 2, 3)\nz = torch.tanh(y)\n"
    assert find_forbidden({"f.py": fine}, forbidden=forbidden) == []
