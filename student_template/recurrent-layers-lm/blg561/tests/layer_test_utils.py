"""Helpers shared by test_rnn.py, test_lstm.py and test_gru.py. You do not need to change it.

``LayerTestCase.call`` runs one of your methods and turns an exception into a test
failure with one line that says what to do next (a NotImplementedError's own message,
or the exception and the line of your code it came from), instead of a long traceback.
"""

import json
import os
import traceback
import unittest

import numpy as np

import blg561
from blg561.checks import grad_check, rel_error

PACKAGE = os.path.dirname(os.path.abspath(blg561.__file__))
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "expected_layers.json")
TOLERANCE = 1e-6             # largest rel_error accepted against exact values, as the course's
NUMERICAL_TOLERANCE = 1e-5   # ... and against centred differences (h = 1e-5), whose own error
                             # reaches 7e-8 on these cases with the reference layers


def linspace(lo, hi, shape):
    """np.linspace(lo, hi, num=size).reshape(shape), the way the course's tests set weights."""
    return np.linspace(lo, hi, num=int(np.prod(shape))).reshape(shape)


def expected_case(layer_name, case):
    """(inputs, outputs, grads) of a stored case: inputs built with linspace, the rest arrays."""
    with open(DATA) as f:
        data = json.load(f)["layers"][layer_name][case]
    inputs = {name: linspace(lo, hi, shape) for name, (lo, hi, shape) in data["inputs"].items()}
    outputs = {name: np.array(value) for name, value in data["outputs"].items()}
    grads = {name: np.array(value) for name, value in data["grads"].items()}
    return inputs, outputs, grads


def random_case(seed, shapes):
    """Arrays of standard-normal entries with the given shapes, from a fixed seed."""
    rng = np.random.RandomState(seed)
    return {name: rng.randn(*shape) for name, shape in shapes.items()}


def set_weights(layer, arrays):
    for name in layer.param_names:
        setattr(layer, name, arrays[name].copy())


def numerical_gradients(f, arrays, names, df):
    """{name: numerical gradient of sum(f() * df) with respect to arrays[name]}.

    grad_check changes each array in place, so ``f`` must read them at every call.
    """
    return {name: grad_check(lambda _: f(), arrays[name], df) for name in names}


def _where(exc):
    """' (at recurrent_layers.py line 42: ...)' for the deepest frame in the package."""
    frames = [fr for fr in traceback.extract_tb(exc.__traceback__)
              if os.path.abspath(fr.filename).startswith(PACKAGE + os.sep)]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (at {os.path.basename(frame.filename)} line {frame.lineno}: {frame.line})"


class LayerTestCase(unittest.TestCase):
    """unittest.TestCase with one-line failures for exceptions and array mismatches."""

    def call(self, what, function, *args):
        """Call ``function(*args)``; an exception becomes a failure that says what to do."""
        __tracebackhide__ = True
        try:
            return function(*args)
        except NotImplementedError as exc:
            message = str(exc) or f"{what} is not implemented yet (it raises NotImplementedError)"
        except Exception as exc:
            message = f"{what} raised {type(exc).__name__}: {exc}{_where(exc)}"
        raise self.failureException(message) from None

    def unpack(self, what, result, names):
        """Check that ``result`` is a tuple of len(names) values; return them as a dict."""
        __tracebackhide__ = True
        if not isinstance(result, (tuple, list)) or len(result) != len(names):
            got = (f"a {type(result).__name__} of {len(result)}"
                   if isinstance(result, (tuple, list)) else type(result).__name__)
            raise self.failureException(
                f"{what} must return a tuple ({', '.join(names)}) (got {got})") from None
        return dict(zip(names, result))

    def assertClose(self, what, got, expected, hint="", tolerance=TOLERANCE):
        """rel_error(got, expected) < tolerance, with the shapes checked first."""
        __tracebackhide__ = True
        if got is None:
            raise self.failureException(f"{what} is None: compute and return it") from None
        got = np.asarray(got, dtype=float)
        if got.shape != expected.shape:
            raise self.failureException(
                f"{what} must have shape {expected.shape} (got {got.shape})") from None
        error = rel_error(got, expected)
        if not error < tolerance:
            where = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
            raise self.failureException(
                f"{what} is wrong: rel_error {error:.2e} (tolerance {tolerance:g}); at index "
                f"{tuple(int(i) for i in where)} got {got[where]:.8f}, expected "
                f"{expected[where]:.8f}. {hint}".rstrip()) from None

    def grad_dict(self, layer, keys):
        """layer.grad after backward, checked to be a dict holding ``keys``."""
        __tracebackhide__ = True
        grad = getattr(layer, "grad", None)
        if not isinstance(grad, dict):
            raise self.failureException(
                f"backward must store the gradients in the dict self.grad (got "
                f"{type(grad).__name__})") from None
        missing = [k for k in keys if k not in grad]
        if missing:
            raise self.failureException(
                f"backward must store {missing} in self.grad (it holds {sorted(grad)}); the keys "
                f"are {list(keys)}") from None
        return grad
