"""Helpers shared by the public tests. You do not need to read or change this file.

Every helper that calls your code turns an exception into a test *failure* with a
message that says what to do next (instead of a long traceback), so that a blank
template shows one clear line per test.
"""

import ast
import importlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent        # the folder that holds part1/ and part2/
PART1 = ROOT / "part1"
PART2 = ROOT / "part2"
DATA = Path(__file__).resolve().parent / "data" / "expected_lstm.json"

#: Part I's modules, imported as top-level modules (part1/ is on sys.path).
PART1_MODULES = ("dataset", "lstm", "train")

# The parameters the grader sets by name: name -> shape, with H = hidden_dim,
# D = input_dim, C = output_dim.
LSTM_PARAMS = {
    **{f"W_{gate}x": "HD" for gate in "gifo"},
    **{f"W_{gate}h": "HH" for gate in "gifo"},
    **{f"b_{gate}": "H" for gate in "gifo"},
    "W_ph": "CH",
    "b_p": "C",
}


def expected_shapes(D, H, C):
    sizes = {"D": D, "H": H, "C": C}
    return {name: tuple(sizes[s] for s in dims) for name, dims in LSTM_PARAMS.items()}


# --------------------------------------------------------------------------- calling your code

def _fail(where, exc):
    """Fail the test with one line; NotImplementedError messages already say what to do."""
    if isinstance(exc, NotImplementedError):
        message = str(exc) or f"{where} is not implemented yet (it raises NotImplementedError)"
    else:
        message = f"{where} raised {type(exc).__name__}: {exc}"
    fail(message)


def fail(message):
    """Fail the test showing only ``message`` (no traceback, no chained exception)."""
    raise pytest.fail.Exception(message, pytrace=False) from None


def call(where, function, *args, **kwargs):
    """function(*args, **kwargs), with an exception turned into a one-line failure."""
    try:
        return function(*args, **kwargs)
    except pytest.fail.Exception:
        raise
    except Exception as exc:
        _fail(where, exc)


def forget(*modules):
    """Drop modules from the import cache, so the next import reads the files afresh."""
    for name in modules:
        sys.modules.pop(name, None)


def import_student(module):
    try:
        return importlib.import_module(module)
    except Exception as exc:  # a SyntaxError, a missing import, ...
        _fail(f"importing {module}", exc)


def student_attr(module, name):
    value = getattr(import_student(module), name, None)
    if value is None:
        fail(f"{module}.py has no {name}: keep the template's names")
    return value


def make_lstm(seq_length=4, input_dim=1, hidden_dim=16, output_dim=10):
    cls = student_attr("lstm", "LSTM")
    return call("LSTM.__init__", cls, seq_length, input_dim, hidden_dim, output_dim)


def run_forward(model, x):
    out = call(f"{type(model).__name__}.forward", model, x)
    if not isinstance(out, torch.Tensor):
        fail(f"{type(model).__name__}.forward must return a tensor "
             f"(got {type(out).__name__})")
    return out


def set_parameters(model, values):
    """Copy the arrays in ``values`` into the model's parameters of the same names."""
    params = dict(model.named_parameters())
    missing = sorted(set(values) - set(params))
    if missing:
        fail(f"{type(model).__name__} has no parameter(s) {missing}: the parameters "
             "must be nn.Parameter attributes named as in the class docstring")
    with torch.no_grad():
        for name, value in values.items():
            value = torch.as_tensor(value, dtype=params[name].dtype)
            if params[name].shape != value.shape:
                fail(f"parameter {name!r} must have shape {tuple(value.shape)} "
                     f"(got {tuple(params[name].shape)})")
            params[name].copy_(value)


def load_cases():
    with open(DATA) as f:
        data = json.load(f)
    return data["atol"], {case["case"]: case for case in data["cases"]}


# --------------------------------------------------------------------------- the forbidden API

#: Classes of torch.nn that do the work Part I asks you to write yourself.
#: (torch.nn.Linear is allowed in this edition.)
FORBIDDEN_CLASSES = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "RNNBase",
                     "RNNCellBase")
#: Functions that do the same, by their full dotted names.
FORBIDDEN_FUNCTIONS = ("torch._VF", "torch._C._VariableFunctions", "torch.lstm", "torch.gru",
                       "torch.rnn_tanh", "torch.rnn_relu", "torch.lstm_cell", "torch.gru_cell",
                       "torch.rnn_tanh_cell", "torch.rnn_relu_cell")
VF_FUNCTIONS = ("lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell",
                "rnn_tanh_cell", "rnn_relu_cell")


def is_forbidden(dotted):
    """Whether a dotted name such as 'torch.nn.LSTM' is a forbidden torch API."""
    parts = dotted.split(".")
    if parts[0] != "torch":
        return False
    if len(parts) >= 3 and parts[1] == "nn" and parts[-1] in FORBIDDEN_CLASSES:
        return True  # torch.nn.LSTM, torch.nn.modules.rnn.LSTM, ...
    return any(dotted == f or dotted.startswith(f + ".") for f in FORBIDDEN_FUNCTIONS)


class _ForbiddenApiFinder(ast.NodeVisitor):
    """Finds uses of the forbidden API in one file, following import aliases.

    Catches ``nn.LSTM``, ``torch.nn.LSTMCell``, ``from torch.nn import LSTM as L``,
    ``getattr(nn, "LSTM")``, ``vars(nn)["LSTM"]``, ``mod = torch.nn; mod.GRU`` and
    ``torch._VF``.
    """

    def __init__(self, tree):
        self.aliases = {}   # local name -> dotted torch name
        self.local_names = {n.name for n in ast.walk(tree)
                            if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
        self.star_from_nn = False
        self.found = []     # (line, what)
        for node in ast.walk(tree):  # collect the imports first, wherever they are
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.aliases[top] = top
                    self._check(node, a.name)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    if a.name == "*":
                        self.star_from_nn |= node.module.startswith("torch.nn")
                        continue
                    dotted = f"{node.module}.{a.name}"
                    self.aliases[a.asname or a.name] = dotted
                    self._check(node, dotted)

    def _check(self, node, dotted, how=""):
        if dotted and is_forbidden(dotted):
            self.found.append((node.lineno, how or dotted))

    def resolve(self, node):
        """The dotted torch name an expression stands for, or None."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "getattr" and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            base = self.resolve(node.args[0])
            return f"{base}.{node.args[1].value}" if base else None
        if (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)):
            container = node.value  # vars(nn)["LSTM"] or nn.__dict__["LSTM"]
            if (isinstance(container, ast.Call) and isinstance(container.func, ast.Name)
                    and container.func.id == "vars" and container.args):
                base = self.resolve(container.args[0])
            elif isinstance(container, ast.Attribute) and container.attr == "__dict__":
                base = self.resolve(container.value)
            else:
                base = None
            return f"{base}.{node.slice.value}" if base else None
        return None

    def visit_Assign(self, node):
        target = self.resolve(node.value)
        if target and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            self.aliases[node.targets[0].id] = target   # e.g. mod = torch.nn
        self.generic_visit(node)

    def visit_Attribute(self, node):
        self._check(node, self.resolve(node))
        self.generic_visit(node)

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id == "getattr":
            self._check(node, self.resolve(node), how=f"getattr(..., {ast.unparse(node.args[1])})"
                        if len(node.args) >= 2 else "")
        self.generic_visit(node)

    def visit_Subscript(self, node):
        self._check(node, self.resolve(node))
        self.generic_visit(node)

    def visit_Name(self, node):
        if (self.star_from_nn and node.id in FORBIDDEN_CLASSES
                and node.id not in self.local_names):
            self.found.append((node.lineno, f"{node.id} (from torch.nn import *)"))


def find_forbidden_api(source, filename="<source>"):
    """Return sorted (line, name) pairs for every use of the forbidden API in ``source``."""
    tree = ast.parse(source, filename=filename)
    finder = _ForbiddenApiFinder(tree)
    finder.visit(tree)
    found = set(finder.found)
    # report torch._VF.lstm once, not also its prefix torch._VF
    return sorted((line, name) for line, name in found
                  if not any(l2 == line and n2.startswith(name + ".") for l2, n2 in found))


def unfinished_template_code(source, filename="<source>"):
    """Lines that still raise the template's NotImplementedError ('... not implemented yet')."""
    lines = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                text = " ".join(c.value for c in ast.walk(node)
                                if isinstance(c, ast.Constant) and isinstance(c.value, str))
                if "not implemented yet" in text:
                    lines.append(node.lineno)
    return lines


class ForbiddenApiUsed(Exception):
    pass


def forbid_torch_api(monkeypatch, calls):
    """Make the forbidden classes and functions record the call in ``calls`` and raise."""
    def forbidden(name):
        def raiser(*args, **kwargs):
            calls.append(name)
            raise ForbiddenApiUsed(f"{name} is not allowed in this assignment")
        return raiser

    nn = torch.nn
    for cls_name in FORBIDDEN_CLASSES:
        cls = getattr(nn, cls_name, None)
        if cls is not None:
            monkeypatch.setattr(cls, "__init__", forbidden(f"torch.nn.{cls_name}"))
            monkeypatch.setattr(cls, "forward", forbidden(f"torch.nn.{cls_name}"))
    for fn in VF_FUNCTIONS:
        monkeypatch.setattr(torch._VF, fn, forbidden(f"torch._VF.{fn}"), raising=False)
        if hasattr(torch, fn):
            monkeypatch.setattr(torch, fn, forbidden(f"torch.{fn}"))


# --------------------------------------------------------------------------- palindromes

def palindromes(rng, n, length, one_hot=False):
    """n random palindromes of ``length`` digits, as PalindromeDataset lays them out:
    inputs (n, length-1, 1) float32 digits, or (n, length-1, 10) one-hot; targets (n,) int64."""
    left = rng.integers(0, 10, size=(n, math.ceil(length / 2)))
    full = np.concatenate([left, left[:, : length // 2][:, ::-1]], axis=1)   # (n, length)
    digits = full[:, :-1]
    if one_hot:
        inputs = np.eye(10, dtype=np.float32)[digits]                        # (n, T, 10)
    else:
        inputs = digits[..., None].astype(np.float32)                        # (n, T, 1)
    return torch.from_numpy(inputs), torch.from_numpy(full[:, -1].astype(np.int64))


def train_until(model, *, length, target, max_steps, max_seconds, one_hot=False, seed=0,
                eval_every=25, batch_size=128, learning_rate=1e-3, max_norm=10.0):
    """Train with RMSProp as the hand-out says; stop once the held-out accuracy reaches
    ``target``. Returns (steps, accuracy, seconds)."""
    rng = np.random.default_rng(seed)
    eval_x, eval_y = palindromes(rng, 1000, length, one_hot)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
    criterion = torch.nn.CrossEntropyLoss()
    start, accuracy = time.perf_counter(), 0.0
    for step in range(1, max_steps + 1):
        x, y = palindromes(rng, batch_size, length, one_hot)
        loss = criterion(run_forward(model, x), y)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        if step % eval_every == 0:
            with torch.no_grad():
                accuracy = (model(eval_x).argmax(dim=1) == eval_y).float().mean().item()
            if accuracy >= target or time.perf_counter() - start > max_seconds:
                break
    return step, accuracy, time.perf_counter() - start
