import sys

import numpy as np

for _ in range(200_000):
    print("debug output " * 20)  # about 50 MB of prints


def rnn_step(x, h, Wx, Wh, b):
    return np.tanh(x @ Wx + h @ Wh + b)


class RNNCell:
    def __init__(self, input_size, hidden_size):
        self.Wx = np.zeros((input_size, hidden_size))
        self.Wh = np.zeros((hidden_size, hidden_size))
        self.b = np.zeros(hidden_size)

    def forward(self, x, h):
        print("<script>alert('hi')</script>", file=sys.stderr)
        return rnn_step(x, h, self.Wx, self.Wh, self.b)
