"""Recurrent layers in numpy: a vanilla RNN, an LSTM and a GRU (hand-out Part 1).

Shapes: N batch, T time steps, D input size (in_size), H hidden size (out_size).
A batch holds one row per sequence, so the hand-out's column-vector products become
row-vector ones: W_h h(t-1) + W_x x(t) is written ``prev_h @ self.Wh + x @ self.Wx``
with ``Wx`` (D, H) and ``Wh`` (H, H), exactly the shapes created in ``__init__``.

These conventions are FIXED (the tests and the grader rely on them):

* ``__init__`` is given: keep the attribute names and shapes of the weights.
* Read the weights from ``self.Wx``, ``self.Wh``, ... at EVERY call, never from a copy
  made earlier: ``blg561.checks.grad_check`` changes those arrays in place between calls.
* ``forward_step`` / ``backward_step`` take and return exactly what their docstrings say.
  The ``cache`` is private: put in it whatever your ``backward_step`` needs; only the
  other return values are checked.
* ``forward(x, h0)`` returns the hidden states h(1), ..., h(T) as one array (N, T, H) and
  keeps what ``backward`` needs in ``self.cache``.
* ``backward(dh)`` stores every gradient in the dict ``self.grad`` under the keys
  'dx' (N, T, D), 'dh0' (N, H), 'dWx', 'dWh', 'db' (GRU also 'dWxi', 'dWhi', 'dbi'),
  each the shape of what it is the gradient of (it may also return ``(dx, dh0)``).

Use numpy only.
"""

import numpy as np

from .layers_with_weights import LayerWithWeights


def sigmoid(x):
    """sigma(x) = 1 / (1 + exp(-x)), computed without overflow for large |x|. Given."""
    e = np.exp(-np.abs(x))                          # in (0, 1]: never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


class RNNLayer(LayerWithWeights):
    """Vanilla RNN:  h(t) = tanh(b + W_h h(t-1) + W_x x(t)).

    Weights: Wx (D, H), Wh (H, H), b (H,).
    """

    param_names = ("Wx", "Wh", "b")

    def __init__(self, in_size, out_size):
        super().__init__()
        self.in_size = in_size    # D
        self.out_size = out_size  # H
        self.Wx = np.random.randn(in_size, out_size) / np.sqrt(in_size)     # (D, H)
        self.Wh = np.random.randn(out_size, out_size) / np.sqrt(out_size)   # (H, H)
        self.b = np.zeros(out_size)                                         # (H,)

    def forward_step(self, x, prev_h):
        """One time step.

        x (N, D), prev_h (N, H)  ->  (next_h (N, H), cache)
        """
        # TODO
        raise NotImplementedError(
            "RNNLayer.forward_step is not implemented yet: compute "
            "h(t) = tanh(b + W_h h(t-1) + W_x x(t)), i.e. np.tanh(self.b + prev_h @ self.Wh + "
            "x @ self.Wx), and return (next_h, cache) (blg561/layer/recurrent_layers.py)")

    def forward(self, x, h0):
        """All time steps.

        x (N, T, D), h0 (N, H)  ->  h (N, T, H), the hidden states h(1), ..., h(T).
        Keeps what backward needs in self.cache.
        """
        # TODO
        raise NotImplementedError(
            "RNNLayer.forward is not implemented yet: starting from h(0) = h0, call "
            "forward_step for t = 1..T, collect h(t) in an (N, T, H) array and keep the "
            "step caches in self.cache (blg561/layer/recurrent_layers.py)")

    def backward_step(self, dnext_h, cache):
        """One step back.

        dnext_h (N, H) = dL/dh(t), cache from forward_step
            ->  (dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,))
        """
        # TODO
        raise NotImplementedError(
            "RNNLayer.backward_step is not implemented yet: back-propagate through "
            "h(t) = tanh(a), a = b + h(t-1) Wh + x(t) Wx (tanh'(a) = 1 - h(t)^2) and return "
            "(dx, dprev_h, dWx, dWh, db) (blg561/layer/recurrent_layers.py)")

    def backward(self, dh):
        """Backpropagation through time.

        dh (N, T, H) = dL/dh(t) from above, for every t.
        Calculates the gradients and saves them to the dictionary self.grad:
        'dx' (N, T, D), 'dh0' (N, H), 'dWx', 'dWh', 'db'.
        """
        # TODO
        raise NotImplementedError(
            "RNNLayer.backward is not implemented yet: for t = T..1 call backward_step with "
            "dh[:, t] plus the gradient flowing back from step t+1, sum the weight gradients "
            "over time, store dx, dh0, dWx, dWh, db in self.grad "
            "(blg561/layer/recurrent_layers.py)")


class LSTMLayer(LayerWithWeights):
    """LSTM, gates ordered i, f, o, g in the columns of Wx, Wh and b:

        a = b + W_h h(t-1) + W_x x(t),   a = [a_i, a_f, a_o, a_g]   (each H columns)
        i = sigma(a_i)  f = sigma(a_f)  o = sigma(a_o)  g = tanh(a_g)
        c(t) = f * c(t-1) + i * g
        h(t) = o * tanh(c(t))

    Weights: Wx (D, 4H), Wh (H, 4H), b (4H,). ``forward`` starts from c(0) = 0.
    """

    param_names = ("Wx", "Wh", "b")

    def __init__(self, in_size, out_size):
        super().__init__()
        self.in_size = in_size    # D
        self.out_size = out_size  # H
        self.Wx = np.random.randn(in_size, 4 * out_size) / np.sqrt(in_size)     # (D, 4H)
        self.Wh = np.random.randn(out_size, 4 * out_size) / np.sqrt(out_size)   # (H, 4H)
        self.b = np.zeros(4 * out_size)                                         # (4H,)

    def forward_step(self, x, prev_h, prev_c):
        """One time step.

        x (N, D), prev_h (N, H), prev_c (N, H)  ->  (next_h (N, H), next_c (N, H), cache)
        """
        # TODO
        raise NotImplementedError(
            "LSTMLayer.forward_step is not implemented yet: compute "
            "a = b + W_h h(t-1) + W_x x(t), the gates i, f, o = sigma(a_i, a_f, a_o) and "
            "g = tanh(a_g) (columns in the order i, f, o, g), c(t) = f * c(t-1) + i * g, "
            "h(t) = o * tanh(c(t)), and return (next_h, next_c, cache) "
            "(blg561/layer/recurrent_layers.py)")

    def forward(self, x, h0):
        """All time steps, starting from h(0) = h0 and c(0) = 0.

        x (N, T, D), h0 (N, H)  ->  h (N, T, H). The cell states are not returned.
        Keeps what backward needs in self.cache.
        """
        # TODO
        raise NotImplementedError(
            "LSTMLayer.forward is not implemented yet: starting from h(0) = h0 and "
            "c(0) = 0, call forward_step for t = 1..T, return the (N, T, H) hidden states and "
            "keep the step caches in self.cache (blg561/layer/recurrent_layers.py)")

    def backward_step(self, dnext_h, dnext_c, cache):
        """One step back.

        dnext_h (N, H) = dL/dh(t), dnext_c (N, H) = dL/dc(t) from step t+1, cache
            ->  (dx (N, D), dprev_h (N, H), dprev_c (N, H),
                 dWx (D, 4H), dWh (H, 4H), db (4H,))
        """
        # TODO
        raise NotImplementedError(
            "LSTMLayer.backward_step is not implemented yet: back-propagate through "
            "h(t) = o * tanh(c(t)) and c(t) = f * c(t-1) + i * g to the gates and to "
            "a = b + h(t-1) Wh + x(t) Wx, and return (dx, dprev_h, dprev_c, dWx, dWh, db) "
            "(blg561/layer/recurrent_layers.py)")

    def backward(self, dh):
        """Backpropagation through time.

        dh (N, T, H) = dL/dh(t) from above, for every t.
        Calculates the gradients and saves them to the dictionary self.grad:
        'dx' (N, T, D), 'dh0' (N, H), 'dWx', 'dWh', 'db'.
        """
        # TODO
        raise NotImplementedError(
            "LSTMLayer.backward is not implemented yet: for t = T..1 call backward_step with "
            "dh[:, t] plus the gradient from step t+1 and the cell-state gradient, sum the "
            "weight gradients over time, store dx, dh0, dWx, dWh, db in self.grad "
            "(blg561/layer/recurrent_layers.py)")


class GRULayer(LayerWithWeights):
    """GRU, as the hand-out writes it (update gate first, then reset, in Wx, Wh and b):

        a = b + W_h h(t-1) + W_x x(t),   a = [a_z, a_r]   (each H columns)
        update = sigma(a_z),  reset = sigma(a_r)
        h_candidate = tanh(bi + W_hi (reset * h(t-1)) + W_xi x(t))
        h(t) = update * h(t-1) + (1 - update) * h_candidate

    Weights: Wx (D, 2H), Wh (H, 2H), b (2H,) for the gates; Wxi (D, H), Whi (H, H),
    bi (H,) for the candidate.
    """

    param_names = ("Wx", "Wh", "b", "Wxi", "Whi", "bi")

    def __init__(self, in_size, out_size):
        super().__init__()
        self.in_size = in_size    # D
        self.out_size = out_size  # H
        self.Wx = np.random.randn(in_size, 2 * out_size) / np.sqrt(in_size)     # (D, 2H)
        self.Wh = np.random.randn(out_size, 2 * out_size) / np.sqrt(out_size)   # (H, 2H)
        self.b = np.zeros(2 * out_size)                                         # (2H,)
        self.Wxi = np.random.randn(in_size, out_size) / np.sqrt(in_size)        # (D, H)
        self.Whi = np.random.randn(out_size, out_size) / np.sqrt(out_size)      # (H, H)
        self.bi = np.zeros(out_size)                                            # (H,)

    def forward_step(self, x, prev_h):
        """One time step.

        x (N, D), prev_h (N, H)  ->  (next_h (N, H), cache)
        """
        # TODO
        raise NotImplementedError(
            "GRULayer.forward_step is not implemented yet: compute a = b + W_h h(t-1) + "
            "W_x x(t), update = sigma(a_z), reset = sigma(a_r) (first H columns, then H), "
            "h_candidate = tanh(bi + W_hi (reset * h(t-1)) + W_xi x(t)) and "
            "h(t) = update * h(t-1) + (1 - update) * h_candidate; return (next_h, cache) "
            "(blg561/layer/recurrent_layers.py)")

    def forward(self, x, h0):
        """All time steps.

        x (N, T, D), h0 (N, H)  ->  h (N, T, H). Keeps what backward needs in self.cache.
        """
        # TODO
        raise NotImplementedError(
            "GRULayer.forward is not implemented yet: starting from h(0) = h0, call "
            "forward_step for t = 1..T, collect h(t) in an (N, T, H) array and keep the "
            "step caches in self.cache (blg561/layer/recurrent_layers.py)")

    def backward_step(self, dnext_h, cache):
        """One step back.

        dnext_h (N, H) = dL/dh(t), cache from forward_step
            ->  (dx (N, D), dprev_h (N, H), dWx (D, 2H), dWh (H, 2H), db (2H,),
                 dWxi (D, H), dWhi (H, H), dbi (H,))
        """
        # TODO
        raise NotImplementedError(
            "GRULayer.backward_step is not implemented yet: back-propagate through "
            "h(t) = update * h(t-1) + (1 - update) * h_candidate, the candidate "
            "tanh(bi + (reset * h(t-1)) Whi + x Wxi) and the gates; h(t-1) gets gradient "
            "along three paths. Return (dx, dprev_h, dWx, dWh, db, dWxi, dWhi, dbi) "
            "(blg561/layer/recurrent_layers.py)")

    def backward(self, dh):
        """Backpropagation through time.

        dh (N, T, H) = dL/dh(t) from above, for every t.
        Calculates the gradients and saves them to the dictionary self.grad:
        'dx' (N, T, D), 'dh0' (N, H), 'dWx', 'dWh', 'db', 'dWxi', 'dWhi', 'dbi'.
        """
        # TODO
        raise NotImplementedError(
            "GRULayer.backward is not implemented yet: for t = T..1 call backward_step with "
            "dh[:, t] plus the gradient from step t+1, sum the six weight gradients over "
            "time, store dx, dh0, dWx, dWh, db, dWxi, dWhi, dbi in self.grad "
            "(blg561/layer/recurrent_layers.py)")
