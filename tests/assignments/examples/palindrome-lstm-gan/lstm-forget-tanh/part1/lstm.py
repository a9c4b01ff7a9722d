from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import torch
import torch.nn as nn


class LSTM(nn.Module):
    """LSTM with one nn.Linear per gate (x side with bias, h side without)."""

    def __init__(self, input_dim, hidden_dim, output_dim, device='cpu'):
        super(LSTM, self).__init__()
        self.hidden_dim = hidden_dim
        self.device = device
        self.input_g = nn.Linear(input_dim, hidden_dim)
        self.hidden_g = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.input_i = nn.Linear(input_dim, hidden_dim)
        self.hidden_i = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.input_f = nn.Linear(input_dim, hidden_dim)
        self.hidden_f = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.input_o = nn.Linear(input_dim, hidden_dim)
        self.hidden_o = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.out = nn.Linear(hidden_dim, output_dim)

    def forward(self, x):
        batch_size, seq_len = x.shape[0], x.shape[1]
        h = torch.zeros(batch_size, self.hidden_dim, device=x.device)
        c = torch.zeros(batch_size, self.hidden_dim, device=x.device)
        for t in range(seq_len):
            x_t = x[:, t].reshape(batch_size, -1)
            g = torch.tanh(self.input_g(x_t) + self.hidden_g(h))
            i = torch.sigmoid(self.input_i(x_t) + self.hidden_i(h))
            f = torch.tanh(self.input_f(x_t) + self.hidden_f(h))
            o = torch.sigmoid(self.input_o(x_t) + self.hidden_o(h))
            c = g * i + c * f
            h = torch.tanh(c) * o
        return self.out(h)
