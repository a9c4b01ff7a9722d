import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    while True:  # never returns
        pass


class RNNCell:
    def __init__(self, input_size, hidden_size):
        self.Wx = np.zeros((input_size, hidden_size))
        self.Wh = np.zeros((hidden_size, hidden_size))
        self.b = np.zeros(hidden_size)

    def forward(self, x, h):
        return np.tanh(x @ self.Wx + h @ self.Wh + self.b)
