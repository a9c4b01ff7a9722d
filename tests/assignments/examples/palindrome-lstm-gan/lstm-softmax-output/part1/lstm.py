from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import math

import torch
import torch.nn as nn


class LSTM(nn.Module):

    def __init__(self, seq_length, input_dim, hidden_dim, output_dim):
        super(LSTM, self).__init__()
        self.seq_length = seq_length
        self.hidden_dim = hidden_dim

        def param(*shape):
            return nn.Parameter(torch.randn(*shape) / math.sqrt(hidden_dim))

        # gates g, i, f, o: weights for x and h, and a bias
        self.W_gx, self.W_gh, self.b_g = param(input_dim, hidden_dim), param(hidden_dim, hidden_dim), nn.Parameter(torch.zeros(hidden_dim))
        self.W_ix, self.W_ih, self.b_i = param(input_dim, hidden_dim), param(hidden_dim, hidden_dim), nn.Parameter(torch.zeros(hidden_dim))
        self.W_fx, self.W_fh, self.b_f = param(input_dim, hidden_dim), param(hidden_dim, hidden_dim), nn.Parameter(torch.zeros(hidden_dim))
        self.W_ox, self.W_oh, self.b_o = param(input_dim, hidden_dim), param(hidden_dim, hidden_dim), nn.Parameter(torch.zeros(hidden_dim))
        # output layer
        self.W_ph, self.b_p = param(hidden_dim, output_dim), nn.Parameter(torch.zeros(output_dim))
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        batch_size = x.shape[0]
        h = torch.zeros(batch_size, self.hidden_dim)
        c = torch.zeros(batch_size, self.hidden_dim)
        for t in range(self.seq_length):
            x_t = x[:, t].view(batch_size, -1)
            g = torch.tanh(x_t @ self.W_gx + h @ self.W_gh + self.b_g)
            i = torch.sigmoid(x_t @ self.W_ix + h @ self.W_ih + self.b_i)
            f = torch.sigmoid(x_t @ self.W_fx + h @ self.W_fh + self.b_f)
            o = torch.sigmoid(x_t @ self.W_ox + h @ self.W_oh + self.b_o)
            c = g * i + c * f
            h = torch.tanh(c) * o
        p = h @ self.W_ph + self.b_p
        # Eq. 8: the softmax gives the probability of each digit
        return self.softmax(p)
