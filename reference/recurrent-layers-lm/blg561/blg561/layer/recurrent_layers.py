"""Recurrent layers in numpy: a vanilla RNN, an LSTM and a GRU (hand-out Part 1).

Shapes in the comments: N batch, T time steps, D input size (in_size), H hidden size
(out_size). A batch holds one row per sequence, so the hand-out's column-vector
products become row-vector ones: W_h h(t-1) + W_x x(t) is written ``prev_h @ Wh + x @ Wx``
with ``Wx`` (D, H) and ``Wh`` (H, H), exactly the shapes the layers store.

Every layer reads its weights from its attributes at each call (never from a copy made
in ``__init__``): ``blg561.checks.grad_check`` changes them in place between calls.
"""

import numpy as np

from .layers_with_weights import LayerWithWeights


def sigmoid(x):
    """sigma(x) = 1 / (1 + exp(-x)), computed without overflow for large |x|."""
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
        """One time step. x (N, D), prev_h (N, H) -> next_h (N, H), cache."""
        next_h = np.tanh(self.b + prev_h @ self.Wh + x @ self.Wx)     # h(t)   (N, H)
        cache = (x, prev_h, next_h)
        return next_h, cache

    def forward(self, x, h0):
        """All time steps. x (N, T, D), h0 (N, H) -> h (N, T, H), the states h(1..T)."""
        N, T, _ = x.shape
        h = np.zeros((N, T, self.out_size))                           # (N, T, H)
        prev_h = h0
        self.cache = []
        for t in range(T):
            prev_h, step_cache = self.forward_step(x[:, t], prev_h)   # h(t)   (N, H)
            h[:, t] = prev_h
            self.cache.append(step_cache)
        return h

    def backward_step(self, dnext_h, cache):
        """One step back. dnext_h (N, H): dL/dh(t) -> dx, dprev_h, dWx, dWh, db."""
        x, prev_h, next_h = cache
        da = dnext_h * (1 - next_h ** 2)          # tanh'(a) = 1 - tanh(a)^2     (N, H)
        dx = da @ self.Wx.T                       # dL/dx(t)                     (N, D)
        dprev_h = da @ self.Wh.T                  # dL/dh(t-1)                   (N, H)
        dWx = x.T @ da                            #                              (D, H)
        dWh = prev_h.T @ da                       #                              (H, H)
        db = da.sum(axis=0)                       #                              (H,)
        return dx, dprev_h, dWx, dWh, db

    def backward(self, dh):
        """Backpropagation through time. dh (N, T, H): dL/dh(t) from above, every t.

        Stores dx (N, T, D), dh0 (N, H), dWx, dWh, db in self.grad; returns (dx, dh0).
        """
        N, T, H = dh.shape
        D = self.in_size
        dx = np.zeros((N, T, D))
        dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
        dprev_h = np.zeros((N, H))                # nothing flows back into h(T) from t = T+1
        for t in reversed(range(T)):
            # h(t) feeds both the output at t and the next step: add both gradients
            dx_t, dprev_h, dWx_t, dWh_t, db_t = self.backward_step(dh[:, t] + dprev_h,
                                                                   self.cache[t])
            dx[:, t] = dx_t
            dWx += dWx_t                          # the weights are shared over time
            dWh += dWh_t
            db += db_t
        self.grad = {"dx": dx, "dh0": dprev_h, "dWx": dWx, "dWh": dWh, "db": db}
        return dx, dprev_h


class LSTMLayer(LayerWithWeights):
    """LSTM, gates ordered i, f, o, g in the columns of Wx, Wh and b:

        a = b + W_h h(t-1) + W_x x(t),   a = [a_i, a_f, a_o, a_g]
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
        """x (N, D), prev_h (N, H), prev_c (N, H) -> next_h (N, H), next_c (N, H), cache."""
        H = prev_h.shape[1]
        a = self.b + prev_h @ self.Wh + x @ self.Wx             # (N, 4H)
        i = sigmoid(a[:, 0 * H:1 * H])                          # input gate        (N, H)
        f = sigmoid(a[:, 1 * H:2 * H])                          # forget gate       (N, H)
        o = sigmoid(a[:, 2 * H:3 * H])                          # output gate       (N, H)
        g = np.tanh(a[:, 3 * H:4 * H])                          # input modulation  (N, H)
        next_c = f * prev_c + i * g                             # c(t)              (N, H)
        tanh_c = np.tanh(next_c)
        next_h = o * tanh_c                                     # h(t)              (N, H)
        cache = (x, prev_h, prev_c, i, f, o, g, tanh_c)
        return next_h, next_c, cache

    def forward(self, x, h0):
        """x (N, T, D), h0 (N, H) -> h (N, T, H). c(0) = 0; the cell states are not returned."""
        N, T, _ = x.shape
        h = np.zeros((N, T, self.out_size))                     # (N, T, H)
        prev_h, prev_c = h0, np.zeros_like(h0)                  # c(0) = 0
        self.cache = []
        for t in range(T):
            prev_h, prev_c, step_cache = self.forward_step(x[:, t], prev_h, prev_c)
            h[:, t] = prev_h
            self.cache.append(step_cache)
        return h

    def backward_step(self, dnext_h, dnext_c, cache):
        """dnext_h, dnext_c (N, H) -> dx, dprev_h, dprev_c, dWx, dWh, db."""
        x, prev_h, prev_c, i, f, o, g, tanh_c = cache
        do = dnext_h * tanh_c                                   # h = o * tanh(c)
        dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)          # c feeds h and c(t+1)
        di = dc * g                                             # c = f * c(t-1) + i * g
        df = dc * prev_c
        dg = dc * i
        dprev_c = dc * f
        da = np.concatenate([di * i * (1 - i),                  # sigma' = sigma (1 - sigma)
                             df * f * (1 - f),
                             do * o * (1 - o),
                             dg * (1 - g ** 2)], axis=1)        # tanh' = 1 - tanh^2  (N, 4H)
        dx = da @ self.Wx.T                                     # (N, D)
        dprev_h = da @ self.Wh.T                                # (N, H)
        dWx = x.T @ da                                          # (D, 4H)
        dWh = prev_h.T @ da                                     # (H, 4H)
        db = da.sum(axis=0)                                     # (4H,)
        return dx, dprev_h, dprev_c, dWx, dWh, db

    def backward(self, dh):
        """dh (N, T, H) -> stores dx, dh0, dWx, dWh, db in self.grad; returns (dx, dh0)."""
        N, T, H = dh.shape
        D = self.in_size
        dx = np.zeros((N, T, D))
        dWx, dWh, db = np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)
        dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
        for t in reversed(range(T)):
            dx_t, dprev_h, dprev_c, dWx_t, dWh_t, db_t = self.backward_step(
                dh[:, t] + dprev_h, dprev_c, self.cache[t])
            dx[:, t] = dx_t
            dWx += dWx_t
            dWh += dWh_t
            db += db_t
        self.grad = {"dx": dx, "dh0": dprev_h, "dWx": dWx, "dWh": dWh, "db": db}
        return dx, dprev_h


class GRULayer(LayerWithWeights):
    """GRU, as the hand-out writes it (update gate first, then reset, in Wx, Wh and b):

        a = b + W_h h(t-1) + W_x x(t),   a = [a_z, a_r]
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
        """x (N, D), prev_h (N, H) -> next_h (N, H), cache."""
        H = prev_h.shape[1]
        a = self.b + prev_h @ self.Wh + x @ self.Wx                       # (N, 2H)
        z = sigmoid(a[:, :H])                                             # update  (N, H)
        r = sigmoid(a[:, H:])                                             # reset   (N, H)
        reset_h = r * prev_h                                              # (N, H)
        candidate = np.tanh(self.bi + reset_h @ self.Whi + x @ self.Wxi)  # (N, H)
        next_h = z * prev_h + (1 - z) * candidate                         # h(t)    (N, H)
        cache = (x, prev_h, z, r, reset_h, candidate)
        return next_h, cache

    def forward(self, x, h0):
        """x (N, T, D), h0 (N, H) -> h (N, T, H)."""
        N, T, _ = x.shape
        h = np.zeros((N, T, self.out_size))
        prev_h = h0
        self.cache = []
        for t in range(T):
            prev_h, step_cache = self.forward_step(x[:, t], prev_h)
            h[:, t] = prev_h
            self.cache.append(step_cache)
        return h

    def backward_step(self, dnext_h, cache):
        """dnext_h (N, H) -> dx, dprev_h, dWx, dWh, db, dWxi, dWhi, dbi."""
        x, prev_h, z, r, reset_h, candidate = cache
        # h(t) = z * h(t-1) + (1 - z) * candidate
        dz = dnext_h * (prev_h - candidate)                    # (N, H)
        dcandidate = dnext_h * (1 - z)                         # (N, H)
        dprev_h = dnext_h * z                                  # the direct path   (N, H)
        # candidate = tanh(bi + (r * h(t-1)) Whi + x Wxi)
        da_i = dcandidate * (1 - candidate ** 2)               # (N, H)
        dWxi = x.T @ da_i                                      # (D, H)
        dWhi = reset_h.T @ da_i                                # (H, H)
        dbi = da_i.sum(axis=0)                                 # (H,)
        dreset_h = da_i @ self.Whi.T                           # (N, H)
        dr = dreset_h * prev_h
        dprev_h += dreset_h * r                                # through the reset gate
        dx = da_i @ self.Wxi.T                                 # (N, D)
        # z = sigma(a_z), r = sigma(a_r), a = b + h(t-1) Wh + x Wx
        da = np.concatenate([dz * z * (1 - z), dr * r * (1 - r)], axis=1)   # (N, 2H)
        dWx = x.T @ da                                         # (D, 2H)
        dWh = prev_h.T @ da                                    # (H, 2H)
        db = da.sum(axis=0)                                    # (2H,)
        dx += da @ self.Wx.T
        dprev_h += da @ self.Wh.T                              # through both gates
        return dx, dprev_h, dWx, dWh, db, dWxi, dWhi, dbi

    def backward(self, dh):
        """dh (N, T, H) -> stores dx, dh0, dWx, dWh, db, dWxi, dWhi, dbi in self.grad;
        returns (dx, dh0)."""
        N, T, H = dh.shape
        D = self.in_size
        dx = np.zeros((N, T, D))
        grads = {name: np.zeros_like(getattr(self, name)) for name in self.param_names}
        dprev_h = np.zeros((N, H))
        for t in reversed(range(T)):
            dx_t, dprev_h, *dweights = self.backward_step(dh[:, t] + dprev_h, self.cache[t])
            dx[:, t] = dx_t
            for name, dw in zip(self.param_names, dweights):  # Wx, Wh, b, Wxi, Whi, bi
                grads[name] += dw
        self.grad = {"dx": dx, "dh0": dprev_h, **{"d" + k: v for k, v in grads.items()}}
        return dx, dprev_h
