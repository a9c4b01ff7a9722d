from .layers_with_weights import LayerWithWeights
import numpy as np


def _sig(v):
    return 0.5 * (1.0 + np.tanh(0.5 * v))   # the logistic function, stable for large |v|


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
        next_h = np.tanh(x @ self.Wx + prev_h @ self.Wh + self.b)
        return next_h, (x, prev_h, next_h)

    def forward(self, x, h0):
        self.x = x
        hs = []
        h = h0
        self.cache = []
        for t in range(x.shape[1]):
            h, step_cache = self.forward_step(x[:, t, :], h)
            hs.append(h)
            self.cache.append(step_cache)
        return np.stack(hs, axis=1)

    def backward_step(self, dnext_h, cache):
        x, prev_h, next_h = cache
        dt = (1 - next_h * next_h) * dnext_h
        return dt @ self.Wx.T, dt @ self.Wh.T, x.T @ dt, prev_h.T @ dt, dt.sum(axis=0)

    def backward(self, dh):
        N, T, H = dh.shape
        dx = np.zeros_like(self.x)
        dWx, dWh, db = np.zeros_like(self.Wx), np.zeros_like(self.Wh), np.zeros_like(self.b)
        carry = np.zeros((N, H))
        for t in range(T - 1, -1, -1):
            dx[:, t, :], carry, a, b, c = self.backward_step(dh[:, t, :] + carry, self.cache[t])
            dWx, dWh, db = dWx + a, dWh + b, db + c
        self.grad = {'dx': dx, 'dh0': carry, 'dWx': dWx, 'dWh': dWh, 'db': db}
        return self.grad


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
        ai, af, ao, ag = np.split(x @ self.Wx + prev_h @ self.Wh + self.b, 4, axis=1)
        i, f, o, g = _sig(ai), _sig(af), _sig(ao), np.tanh(ag)
        next_c = f * prev_c + i * g
        next_h = o * np.tanh(next_c)
        return next_h, next_c, (x, prev_h, prev_c, i, f, o, g, next_c)

    def forward(self, x, h0):
        self.x = x
        h, c = h0, 0          # the cell state starts at zero (broadcast to (N, H))
        out = np.zeros((x.shape[0], x.shape[1], h0.shape[1]))
        self.cache = []
        for t in range(x.shape[1]):
            h, c, step_cache = self.forward_step(x[:, t, :], h, c)
            out[:, t, :] = h
            self.cache.append(step_cache)
        return out

    def backward_step(self, dnext_h, dnext_c, cache):
        x, prev_h, prev_c, i, f, o, g, next_c = cache
        tanh_c = np.tanh(next_c)
        dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
        grads = [dc * g * i * (1 - i),
                 dc * prev_c * f * (1 - f),
                 dnext_h * tanh_c * o * (1 - o),
                 dc * i * (1 - g ** 2)]
        da = np.concatenate(grads, axis=1)
        dprev_c = dc * f * np.ones_like(prev_h)
        return da @ self.Wx.T, da @ self.Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)

    def backward(self, dh):
        N, T, H = dh.shape
        dx = np.zeros_like(self.x)
        dWx, dWh, db = np.zeros_like(self.Wx), np.zeros_like(self.Wh), np.zeros_like(self.b)
        dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))
        for t in range(T - 1, -1, -1):
            dx[:, t, :], dh_next, dc_next, a, b, c = self.backward_step(
                dh[:, t, :] + dh_next, dc_next, self.cache[t])
            dWx, dWh, db = dWx + a, dWh + b, db + c
        self.grad = {'dx': dx, 'dh0': dh_next, 'dWx': dWx, 'dWh': dWh, 'db': db}
        return self.grad
