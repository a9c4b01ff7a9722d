"""Reference: one step of a vanilla RNN, h' = tanh(x Wx + h Wh + b)."""

import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    # x: (N, D), h: (N, H), Wx: (D, H), Wh: (H, H), b: (H,)  ->  (N, H)
    return np.tanh(x @ Wx + h @ Wh + b)


class RNNCell:
    def __init__(self, input_size, hidden_size):
        rng = np.random.default_rng(0)
        self.Wx = rng.normal(scale=0.1, size=(input_size, hidden_size))
        self.Wh = rng.normal(scale=0.1, size=(hidden_size, hidden_size))
        self.b = np.zeros(hidden_size)

    def forward(self, x, h):
        return rnn_step(x, h, self.Wx, self.Wh, self.b)
