"""Helpers shared by the public tests. You do not need to read or change this file.

Both lab scripts read textData.txt and train in a ``while True:`` loop at module level,
so the tests cannot simply import them. They load them in one of two ways:

* ``load_definitions(script, inject)`` runs only the imports, the ``def``s and
  ``class``es and plain assignments such as ``hidden_size = 100`` or
  ``criterion = nn.CrossEntropyLoss()``; everything else (reading the file, building
  the model, the loop) is left unrun. The values the skipped lines would have made
  (``vocab_size``, ``chars``, the weights ``Wxh``, ...) are put in the module by the
  test instead, the same way the grader does it.
* ``run_script(script, iterations)`` runs the whole script from this folder, with its
  training loop stopped after ``iterations`` passes.

Every helper that calls your code turns an exception into a test *failure* with one
line that says what to do next and where your code raised it (instead of a long
traceback), so that a blank template shows one clear line per test.
"""

import ast
import builtins
import json
import traceback
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent  # the folder that holds the two scripts
RNN_SCRIPT = ROOT / "task2_min_char_rnn.py"
LSTM_SCRIPT = ROOT / "task3_min_char_lstm.py"
TEXT = ROOT / "textData.txt"
RNN_DATA = Path(__file__).resolve().parent / "data" / "expected_min_char_rnn.json"

RNN_WEIGHTS = ("Wxh", "Whh", "Why", "bh", "by")
RNN_GRADIENTS = ("dWxh", "dWhh", "dWhy", "dbh", "dby")


# --------------------------------------------------------------------------- failing clearly

def fail(message):
    """Fail the test showing only ``message`` (no traceback, no chained exception)."""
    raise pytest.fail.Exception(message, pytrace=False) from None


def check(condition, message):
    """Fail with ``message`` (one line) unless ``condition`` holds."""
    if not condition:
        fail(message)


def _where(exc, script):
    """' (task3_min_char_lstm.py line 40)': the last line of ``script`` in the traceback."""
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__)
             if Path(frame.filename).name == script.name]
    if isinstance(exc, SyntaxError) and exc.lineno:
        lines.append(exc.lineno)
    return f" ({script.name} line {lines[-1]})" if lines else ""


def fail_from(what, exc, script, hint=""):
    """Fail with one line about ``exc``; NotImplementedError messages already say what to do."""
    if isinstance(exc, NotImplementedError) and str(exc):
        fail(str(exc))
    message = f"{what} raised {type(exc).__name__}: {exc}{_where(exc, script)}"
    fail(message + (f". {hint}" if hint else ""))


# --------------------------------------------------------------------------- loading definitions

# Calls that are safe to run while loading: loss constructors (criterion = nn.XLoss())
# and torch.device. Everything else (open, np.random.randn, _charLSTM(), ...) is left unrun.
def _call_is_safe(call):
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name.endswith("Loss") or name == "device"


def _value_is_simple(node, defined):
    for sub in ast.walk(node):
        if isinstance(sub, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
                            ast.Lambda, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        if isinstance(sub, ast.Call) and not _call_is_safe(sub):
            return False
        if isinstance(sub, ast.Name) and sub.id not in defined and not hasattr(builtins, sub.id):
            return False
    return True


def _assigned_names(targets):
    names = []
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                names.append(sub.id)
            elif not isinstance(sub, (ast.Tuple, ast.List, ast.Store, ast.Starred)):
                return None  # an attribute or an item: not a plain definition
    return names


def _definitions_only(tree, defined):
    kept = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            kept.append(stmt)
            for alias in stmt.names:
                defined.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if all(_value_is_simple(d, defined) for d in stmt.decorator_list):
                kept.append(stmt)
                defined.add(stmt.name)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            kept.append(stmt)  # a docstring
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = _assigned_names(targets)
            if names is not None and _value_is_simple(stmt.value, defined):
                kept.append(stmt)
                defined.update(names)
    return kept


def load_definitions(script, inject=None):
    """The definitions of ``script`` as a module, with ``inject`` put in its globals.

    Injected values win over the script's own plain assignments (the test chooses the
    sizes), so the module can be used exactly as the test set it up.
    """
    inject = dict(inject or {})
    try:
        source = script.read_text(encoding="utf-8")
        tree = ast.parse(source, str(script))
    except FileNotFoundError:
        fail(f"{script.name} is missing: keep it next to the tests/ folder")
    except SyntaxError as exc:
        fail(f"{script.name} is not valid Python: {exc.msg} (line {exc.lineno})")
    kept = _definitions_only(tree, set(inject))
    module = types.ModuleType(script.stem)
    module.__file__ = str(script)
    module.__dict__.update(inject)
    try:
        exec(compile(ast.Module(body=kept, type_ignores=[]), str(script), "exec"),
             module.__dict__)
    except Exception as exc:
        fail_from(f"loading the definitions of {script.name}", exc, script)
    module.__dict__.update(inject)
    return module


# --------------------------------------------------------------------------- running the script

def run_script(script, iterations, record):
    """Run ``script`` from its folder, its last module-level loop cut to ``iterations`` passes.

    ``record(namespace)`` is called at the end of every pass with the script's globals.
    Returns ``(globals, exception)``: the exception the script raised, or None. The
    script reads textData.txt itself; numpy and torch are seeded with 0 first.
    """
    source = script.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source, str(script))
    except SyntaxError as exc:
        fail(f"{script.name} is not valid Python: {exc.msg} (line {exc.lineno})")
    loops = [i for i, stmt in enumerate(tree.body) if isinstance(stmt, ast.While)]
    if not loops:
        fail(f"{script.name} has no 'while True:' training loop at module level: keep the "
             "template's loop")
    loop = tree.body[loops[-1]]
    call_record = ast.Expr(ast.Call(ast.Name("__record__", ast.Load()),
                                    [ast.Call(ast.Name("globals", ast.Load()), [], [])], []))
    bounded = ast.For(target=ast.Name("__pass__", ast.Store()),
                      iter=ast.Call(ast.Name("range", ast.Load()),
                                    [ast.Constant(iterations)], []),
                      body=[*loop.body, ast.copy_location(call_record, loop.body[-1])],
                      orelse=[])
    tree.body[loops[-1]] = ast.copy_location(bounded, loop)
    ast.fix_missing_locations(tree)
    namespace = {"__name__": script.stem, "__file__": str(script), "__record__": record}
    code = compile(tree, str(script), "exec")
    np.random.seed(0)
    torch.manual_seed(0)
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        patch.chdir(script.parent)
        # the lab scripts read textData.txt with open(...).read(), never closing the file
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            exec(code, namespace)
        except Exception as exc:
            return namespace, exc
    return namespace, None


# --------------------------------------------------------------------------- Task 2.1 helpers

def rnn_cases():
    with open(RNN_DATA) as f:
        data = json.load(f)
    return data


def rnn_case(name):
    data = rnn_cases()
    case = next(c for c in data["cases"] if c["case"] == name)
    return data, case


def load_rnn(case):
    """task2_min_char_rnn.py's definitions with the case's weights as module globals."""
    weights = {name: np.array(case[name], dtype=np.float64) for name in RNN_WEIGHTS}
    return load_definitions(RNN_SCRIPT, {"vocab_size": case["vocab_size"],
                                         "hidden_size": case["hidden_size"], **weights})


def call_lossfun(module, inputs, targets, hprev):
    """lossFun's seven results, checked for their types and shapes."""
    lossfun = getattr(module, "lossFun", None)
    if lossfun is None:
        fail("task2_min_char_rnn.py has no function lossFun: keep the template's name")
    try:
        result = lossfun(list(inputs), list(targets), np.array(hprev, dtype=np.float64))
    except Exception as exc:
        fail_from("lossFun(inputs, targets, hprev)", exc, RNN_SCRIPT)
    if not isinstance(result, tuple) or len(result) != 7:
        fail("lossFun must return the 7 values loss, dWxh, dWhh, dWhy, dbh, dby, "
             f"hs[len(inputs)-1] (got {type(result).__name__})")
    loss, *grads, h = result
    for name, grad, weight in zip(RNN_GRADIENTS, grads, RNN_WEIGHTS, strict=True):
        shape = np.shape(getattr(module, weight))
        if np.shape(grad) != shape:
            fail(f"lossFun's {name} must have the shape of {weight}, {shape} "
                 f"(got {np.shape(grad)})")
    H = np.shape(module.Whh)[0]
    if np.shape(h) != (H, 1):
        fail(f"lossFun's last hidden state must have shape (hidden_size, 1) = {(H, 1)} "
             f"(got {np.shape(h)}): is hs[t] a column vector like bh?")
    gradients = {name: np.asarray(g) for name, g in zip(RNN_GRADIENTS, grads, strict=True)}
    return float(loss), gradients, np.asarray(h)


# --------------------------------------------------------------------------- Task 2.3 helpers

def load_lstm(vocab_size=9, hidden_size=12):
    """task3_min_char_lstm.py's definitions with the sizes as module globals."""
    chars = [chr(ord("a") + i) for i in range(vocab_size)]
    return load_definitions(LSTM_SCRIPT, {
        "vocab_size": vocab_size, "hidden_size": hidden_size, "chars": chars,
        "char_to_ix": {ch: i for i, ch in enumerate(chars)},
        "ix_to_char": dict(enumerate(chars)),
    })


def make_lstm(module, seed=0):
    cls = getattr(module, "_charLSTM", None)
    if cls is None:
        fail("task3_min_char_lstm.py has no class _charLSTM: keep the template's name")
    torch.manual_seed(seed)
    try:
        model = cls()
    except Exception as exc:
        fail_from("_charLSTM()", exc, LSTM_SCRIPT,
                  "__init__ takes no arguments: read the sizes from the module globals "
                  "vocab_size and hidden_size")
    if not list(model.parameters()):
        fail("_charLSTM() has no parameters: create the LSTM and the output layer in "
             "__init__ as attributes of self")
    return model


def one_hot(indices, vocab_size):
    x = torch.zeros(len(indices), vocab_size)
    x[torch.arange(len(indices)), torch.as_tensor(indices)] = 1.0
    return x


def zero_state(hidden_size):
    return torch.zeros(1, 1, hidden_size), torch.zeros(1, 1, hidden_size)


def call_forward(model, module, x, h, c):
    """model(x, h, c, seq_len) checked for the fixed output structure and shapes."""
    seq_len, V, H = x.shape[0], module.vocab_size, module.hidden_size
    try:
        result = model(x, h, c, seq_len)
    except Exception as exc:
        fail_from(f"forward(input {tuple(x.shape)}, hprev {tuple(h.shape)}, cprev "
                  f"{tuple(c.shape)}, seq_len={seq_len})", exc, LSTM_SCRIPT,
                  f"The tests set the module globals vocab_size={V} and hidden_size={H}: "
                  "take the sizes from them, not from numbers written in the class")
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], tuple)
            and len(result[1]) == 2):
        fail("forward must return (output, (h, c)) like nn.LSTM does "
             f"(got {type(result).__name__})")
    output, (h_new, c_new) = result
    for name, value, shape in (("output", output, (seq_len, V)), ("h", h_new, (1, 1, H)),
                               ("c", c_new, (1, 1, H))):
        if not isinstance(value, torch.Tensor):
            fail(f"forward's {name} must be a tensor (got {type(value).__name__})")
        if tuple(value.shape) != shape:
            fail(f"forward's {name} must have shape {shape} for seq_len={seq_len}, "
                 f"vocab_size={V}, hidden_size={H} (got {tuple(value.shape)})")
    return output, (h_new, c_new)
