"""Helpers for testing layers: relative error and numerical gradients."""

import numpy as np


def rel_error(x, y):
    """Largest relative error between two arrays: max |x - y| / max(1e-8, |x| + |y|)."""
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))


def grad_check(f, x, df, h=1e-5):
    """Numerical gradient of sum(f(x) * df) with respect to the array ``x``.

    Centred differences: every entry of ``x`` is changed IN PLACE to x + h and x - h
    and f is called each time, then restored. ``f`` may ignore its argument and read a
    layer's attribute instead (``lambda _: layer.forward(x, h0)`` with ``x = layer.Wx``),
    which is why a layer must read its weights from its attributes at every call.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old_value = x[ix]
        x[ix] = old_value + h
        pos = np.array(f(x), copy=True)
        x[ix] = old_value - h
        neg = np.array(f(x), copy=True)
        x[ix] = old_value
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad
