"""Helpers for the public tests of Part 2. You do not need to read or change this file.

The tests check ``language_model.py``, or the notebook: set LM_FILE to choose,

    LM_FILE=LanguageModelling.ipynb pytest tests

(without LM_FILE: language_model.py, unless it is still the blank template and the
notebook is not). From a notebook only the definitions are run (imports, def, class and
assignments of simple values), as the grader does: cells that train are not run.

Every helper that calls your code turns an exception into a test *failure* with one line
that says what to do next, instead of a long traceback.
"""

import ast
import importlib.util
import json
import os
import sys
import traceback
import types
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent          # the folder of language_model.py
MODULE_FILE = ROOT / "language_model.py"
NOTEBOOK_FILE = ROOT / "LanguageModelling.ipynb"
TEMPLATE_MARK = "not implemented yet"


def fail(message):
    """Fail the test showing only ``message`` (no traceback, no chained exception)."""
    raise pytest.fail.Exception(message, pytrace=False) from None


def _where(exc):
    """' (language_model.py line 42: ...)' for the deepest frame in the tested file."""
    frames = [fr for fr in traceback.extract_tb(exc.__traceback__)
              if Path(fr.filename.split(" [cell")[0]).name in (MODULE_FILE.name,
                                                               NOTEBOOK_FILE.name)]
    if not frames:
        return ""
    frame = frames[-1]
    text = f": {frame.line}" if frame.line else ""
    return f" (at {Path(frame.filename).name} line {frame.lineno}{text})"


def call(where, function, *args, **kwargs):
    """``function(*args, **kwargs)``; an exception becomes a one-line failure."""
    try:
        return function(*args, **kwargs)
    except NotImplementedError as exc:
        fail(str(exc) or f"{where} is not implemented yet (it raises NotImplementedError)")
    except pytest.fail.Exception:
        raise
    except Exception as exc:
        fail(f"{where} raised {type(exc).__name__}: {exc}{_where(exc)}")


# --------------------------------------------------------------------------- loading

def tested_file():
    """The file under test: $LM_FILE, else language_model.py (or the notebook, when only
    the notebook has been worked on)."""
    chosen = os.environ.get("LM_FILE")
    if chosen:
        path = Path(chosen)
        return path if path.is_absolute() else ROOT / path
    if not MODULE_FILE.exists():
        return NOTEBOOK_FILE
    if (NOTEBOOK_FILE.exists() and TEMPLATE_MARK in MODULE_FILE.read_text(encoding="utf-8")
            and TEMPLATE_MARK not in NOTEBOOK_FILE.read_text(encoding="utf-8")):
        return NOTEBOOK_FILE
    return MODULE_FILE


def _simple_value(node):
    """True for values without calls (torch.device(...) and torch.cuda.is_available()
    excepted): they cannot train or read files."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            if ast.unparse(sub.func) not in ("torch.device", "torch.cuda.is_available"):
                return False
        elif isinstance(sub, (ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom,
                              ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return False
    return True


def _load_notebook(path, module):
    """Run the definitions of a notebook's code cells in ``module`` (see the docstring)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        lines = ["" if line.lstrip().startswith(("%", "!")) else line
                 for line in source.splitlines()]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue                                   # as Jupyter: only this cell fails
        for node in tree.body:
            definition = isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                                           ast.AsyncFunctionDef, ast.ClassDef))
            assignment = (isinstance(node, (ast.Assign, ast.AnnAssign))
                          and node.value is not None and _simple_value(node.value))
            if not (definition or assignment):
                continue
            code = compile(ast.Module([node], []), f"{path.name} [cell {index}]", "exec")
            try:
                exec(code, module.__dict__)
            except Exception:
                if definition:
                    raise
                # an assignment reading a name defined by a skipped cell: skip it too


_loaded = {}


def load_lm():
    """The module under test (loaded once per test session)."""
    path = tested_file()
    if path in _loaded:
        return _loaded[path]
    if not path.exists():
        fail(f"{path.name} not found in {ROOT}: keep the template's file names")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))                 # for `from data import load_book`
    try:
        if path.suffix == ".ipynb":
            module = types.ModuleType("language_model")
            module.__file__ = str(path)
            sys.modules["language_model"] = module
            _load_notebook(path, module)
        else:
            spec = importlib.util.spec_from_file_location("language_model", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["language_model"] = module
            spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop("language_model", None)
        fail(f"loading {path.name} raised {type(exc).__name__}: {exc}{_where(exc)}")
    _loaded[path] = module
    return module


def get(name):
    """A function or class of the tested file, by the template's name."""
    module = load_lm()
    value = getattr(module, name, None)
    if value is None:
        fail(f"{Path(module.__file__).name} defines no {name}: keep the template's names")
    return value


# --------------------------------------------------------------------------- data

def write_corpus(folder, text, name="corpus.txt"):
    path = Path(folder) / name
    path.write_text(text, encoding="utf-8")
    return path


def toy_corpus(n_sentences=400, seed=0):
    """Sentences from a tiny grammar (about 25 words): easy to learn, fixed by the seed."""
    import random
    rng = random.Random(seed)
    subjects = ["the cat", "the dog", "a bird", "my friend", "elizabeth", "mr darcy"]
    verbs = ["sees", "likes", "follows", "visits", "avoids"]
    objects = ["the garden", "the house", "a letter", "the ball", "her sister"]
    ends = [".", "!", "?"]
    return " ".join(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} "
                    f"{rng.choice(ends)}" for _ in range(n_sentences)) + "\n"


def make_dataset(path, seq_length, train=True, **kwargs):
    Dataset = get("Dataset")
    return call("Dataset(...)", Dataset, seq_length, str(path), train=train, **kwargs)


# --------------------------------------------------------------------------- stand-ins

class FakeVocabulary:
    """Stands in for a Dataset in the generate tests: words w0, w1, ..., as documented."""

    def __init__(self, n):
        self.vocab = ["<unk>"] + [f"w{i}" for i in range(1, n)]
        self.word2idx = {w: i for i, w in enumerate(self.vocab)}
        self.seq_length = 5
        self.data = torch.arange(n)

    @property
    def ntoken(self):
        return len(self.vocab)

    def encode(self, words):
        return [self.word2idx.get(w, 0) for w in words]

    def decode(self, ids):
        return [self.vocab[int(i)] for i in ids]


class BigramModel(torch.nn.Module):
    """A language model with a fixed table of next-word logits: logits[b, t] = table[x[b, t]].

    The state it returns, shaped like an RNN's (1, B, 1), counts the steps seen so far
    (it is not needed to predict).
    """

    def __init__(self, table):
        super().__init__()
        self.table = torch.nn.Parameter(table.clone(), requires_grad=False)   # (V, V)
        self.ntoken = table.shape[0]
        self.seen_states = []

    def forward(self, x, state=None):
        self.seen_states.append(None if state is None else state.clone())
        if state is None:
            state = self.init_state(x.shape[0])
        return self.table[x], state + x.shape[1]                              # (B, T, V)

    def init_state(self, batch_size):
        return torch.zeros(1, batch_size, 1, device=self.table.device)
