#Adapted from CS231n
from .layers_with_weights import LayerWithWeights
import numpy as np


def sigmoid(x):
    # split by sign so that exp never overflows
    out = np.empty_like(x, dtype=float)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


class RNNLayer(LayerWithWeights):
    """ Simple RNN Layer - only calculates hidden states """

    def __init__(self, in_size, out_size):
        self.in_size = in_size
        self.out_size = out_size
        self.Wx = np.random.rand(in_size, out_size)
        self.Wh = np.random.rand(out_size, out_size)
        self.b = np.random.rand(out_size)
        self.cache = None
        self.grad = {'dx': None, 'dh0': None, 'dWx': None, 'dWh': None, 'db': None}

    def forward_step(self, x, prev_h):
        next_h = np.tanh(np.dot(x, self.Wx) + np.dot(prev_h, self.Wh) + self.b)
        cache = (x, prev_h, next_h)
        return next_h, cache

    def forward(self, x, h0):
        N, T, D = x.shape
        H = self.out_size
        h = np.zeros((N, T, H))
        self.cache = []
        h_t = h0
        for t in range(T):
            h_t, c = self.forward_step(x[:, t, :], h_t)
            h[:, t, :] = h_t
            self.cache.append(c)
        return h

    def backward_step(self, dnext_h, cache):
        x, prev_h, next_h = cache
        da = dnext_h * (1 - next_h ** 2)
        dx = np.dot(da, self.Wx.T)
        dprev_h = np.dot(da, self.Wh.T)
        dWx = np.dot(x.T, da)
        dWh = np.dot(prev_h.T, da)
        db = np.sum(da, axis=0)
        return dx, dprev_h, dWx, dWh, db

    def backward(self, dh):
        N, T, H = dh.shape
        D = self.in_size
        dx = np.zeros((N, T, D))
        dWx = np.zeros_like(self.Wx)
        dWh = np.zeros_like(self.Wh)
        db = np.zeros_like(self.b)
        dprev = np.zeros((N, H))
        for t in reversed(range(T)):
            dx_t, dprev, dWx_t, dWh_t, db_t = self.backward_step(dh[:, t, :] + dprev, self.cache[t])
            dx[:, t, :] = dx_t
            dWx += dWx_t
            dWh += dWh_t
            db += db_t
        dh0 = dprev
        self.grad = {'dx': dx, 'dh0': dh0, 'dWx': dWx, 'dWh': dWh, 'db': db}


class LSTMLayer(LayerWithWeights):
    """ Simple LSTM Layer - only calculates hidden states and cell states """

    def __init__(self, in_size, out_size):
        self.in_size = in_size
        self.out_size = out_size
        self.Wx = np.random.rand(in_size, 4 * out_size)
        self.Wh = np.random.rand(out_size, 4 * out_size)
        self.b = np.random.rand(4 * out_size)
        self.cache = None
        self.grad = {'dx': None, 'dh0': None, 'dWx': None, 'dWh': None, 'db': None}

    def forward_step(self, x, prev_h, prev_c):
        H = self.out_size
        a = np.dot(x, self.Wx) + np.dot(prev_h, self.Wh) + self.b
        i = sigmoid(a[:, :H])
        f = sigmoid(a[:, H:2 * H])
        o = sigmoid(a[:, 2 * H:3 * H])
        g = np.tanh(a[:, 3 * H:])
        next_c = f * prev_c + i * g
        next_h = o * np.tanh(next_c)
        cache = (x, prev_h, prev_c, i, f, o, g, next_c)
        return next_h, next_c, cache

    def forward(self, x, h0):
        N, T, D = x.shape
        H = self.out_size
        h = np.zeros((N, T, H))
        self.cache = []
        h_t = h0
        c_t = np.zeros((N, H))
        for t in range(T):
            h_t, c_t, c = self.forward_step(x[:, t, :], h_t, c_t)
            h[:, t, :] = h_t
            self.cache.append(c)
        return h

    def backward_step(self, dnext_h, dnext_c, cache):
        x, prev_h, prev_c, i, f, o, g, next_c = cache
        tc = np.tanh(next_c)
        dc = dnext_c + dnext_h * o * (1 - tc ** 2)
        di = dc * g
        df = dc * prev_c
        do = dnext_h * tc
        dg = dc * i
        da = np.hstack((di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)))
        dx = np.dot(da, self.Wx.T)
        dprev_h = np.dot(da, self.Wh.T)
        dprev_c = dc * f
        dWx = np.dot(x.T, da)
        dWh = np.dot(prev_h.T, da)
        db = np.sum(da, axis=0)
        return dx, dprev_h, dprev_c, dWx, dWh, db

    def backward(self, dh):
        N, T, H = dh.shape
        D = self.in_size
        dx = np.zeros((N, T, D))
        dWx = np.zeros_like(self.Wx)
        dWh = np.zeros_like(self.Wh)
        db = np.zeros_like(self.b)
        dprev_h = np.zeros((N, H))
        dprev_c = np.zeros((N, H))
        for t in reversed(range(T)):
            step = self.backward_step(dh[:, t, :] + dprev_h, dprev_c, self.cache[t])
            dx[:, t, :], dprev_h, dprev_c, dWx_t, dWh_t, db_t = step
            dWx += dWx_t
            dWh += dWh_t
            db += db_t
        self.grad = {'dx': dx, 'dh0': dprev_h, 'dWx': dWx, 'dWh': dWh, 'db': db}


class GRULayer(LayerWithWeights):
    """ Simple GRU Layer - only calculates hidden states """

    def __init__(self, in_size, out_size):
        self.in_size = in_size
        self.out_size = out_size
        self.Wx = np.random.rand(in_size, 2 * out_size)
        self.Wh = np.random.rand(out_size, 2 * out_size)
        self.b = np.random.rand(2 * out_size)
        self.Wxi = np.random.rand(in_size, out_size)
        self.Whi = np.random.rand(out_size, out_size)
        self.bi = np.random.rand(out_size)
        self.cache = None
        self.grad = {'dx': None, 'dh0': None, 'dWx': None, 'dWh': None, 'db': None,
                     'dWxi': None, 'dWhi': None, 'dbi': None}

    def forward_step(self, x, prev_h):
        H = self.out_size
        a = np.dot(x, self.Wx) + np.dot(prev_h, self.Wh) + self.b
        z = sigmoid(a[:, :H])
        r = sigmoid(a[:, H:])
        h_tilde = np.tanh(np.dot(x, self.Wxi) + np.dot(r * prev_h, self.Whi) + self.bi)
        next_h = z * prev_h + (1 - z) * h_tilde
        cache = (x, prev_h, z, r, h_tilde)
        return next_h, cache

    def forward(self, x, h0):
        N, T, D = x.shape
        h = np.zeros((N, T, self.out_size))
        self.cache = []
        h_t = h0
        for t in range(T):
            h_t, c = self.forward_step(x[:, t, :], h_t)
            h[:, t, :] = h_t
            self.cache.append(c)
        return h

    def backward_step(self, dnext_h, cache):
        x, prev_h, z, r, h_tilde = cache
        dh_tilde = dnext_h * (1 - z)
        dz = dnext_h * (prev_h - h_tilde)
        dai = dh_tilde * (1 - h_tilde ** 2)
        dWxi = np.dot(x.T, dai)
        dWhi = np.dot((r * prev_h).T, dai)
        dbi = np.sum(dai, axis=0)
        drh = np.dot(dai, self.Whi.T)
        dr = drh * prev_h
        da = np.hstack((dz * z * (1 - z), dr * r * (1 - r)))
        dWx = np.dot(x.T, da)
        dWh = np.dot(prev_h.T, da)
        db = np.sum(da, axis=0)
        dx = np.dot(dai, self.Wxi.T) + np.dot(da, self.Wx.T)
        dprev_h = dnext_h * z + drh * r + np.dot(da, self.Wh.T)
        return dx, dprev_h, dWx, dWh, db, dWxi, dWhi, dbi

    def backward(self, dh):
        N, T, H = dh.shape
        dx = np.zeros((N, T, self.in_size))
        sums = [np.zeros_like(w) for w in (self.Wx, self.Wh, self.b, self.Wxi, self.Whi, self.bi)]
        dprev = np.zeros((N, H))
        for t in reversed(range(T)):
            dx_t, dprev, *dws = self.backward_step(dh[:, t, :] + dprev, self.cache[t])
            dx[:, t, :] = dx_t
            for s, dw in zip(sums, dws):
                s += dw
        dWx, dWh, db, dWxi, dWhi, dbi = sums
        self.grad = {'dx': dx, 'dh0': dprev, 'dWx': dWx, 'dWh': dWh, 'db': db,
                     'dWxi': dWxi, 'dWhi': dWhi, 'dbi': dbi}
