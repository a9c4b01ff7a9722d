"""Reference: one LSTM step, gates in torch.nn.LSTMCell's order (i, f, g, o)."""

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x, h, c, W, U, b):
    # x: (N, D), h and c: (N, H), W: (D, 4H), U: (H, 4H), b: (4H,)
    z = x @ W + h @ U + b  # (N, 4H)
    i, f, g, o = np.split(z, 4, axis=1)  # each (N, H)
    c_next = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h_next = sigmoid(o) * np.tanh(c_next)
    return h_next, c_next
