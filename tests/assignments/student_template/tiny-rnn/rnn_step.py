"""Implement one step of a vanilla RNN in numpy."""

import numpy as np  # noqa: F401


def rnn_step(x, h, Wx, Wh, b):
    """Return h' = tanh(x Wx + h Wh + b) for x (N, D), h (N, H), Wx (D, H), Wh (H, H), b (H,)."""
    raise NotImplementedError("implement h' = tanh(x @ Wx + h @ Wh + b)")


class RNNCell:
    def __init__(self, input_size, hidden_size):
        raise NotImplementedError("create Wx (D, H), Wh (H, H) and b (H,)")

    def forward(self, x, h):
        raise NotImplementedError("return rnn_step(x, h, self.Wx, self.Wh, self.b)")
