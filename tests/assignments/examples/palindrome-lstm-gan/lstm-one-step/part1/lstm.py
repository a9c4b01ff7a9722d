from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import torch
import torch.nn as nn


class LSTM(nn.Module):
    """One step of the LSTM (Eq. 1-7); train.py runs it over the sequence."""

    def __init__(self, seq_length, input_dim, hidden_dim, output_dim):
        super(LSTM, self).__init__()
        self.seq_length = seq_length
        self.hidden_dim = hidden_dim

        def weight(rows, cols):
            return nn.Parameter(nn.init.xavier_uniform_(torch.empty(rows, cols)))

        self.W_gx, self.W_gh = weight(input_dim, hidden_dim), weight(hidden_dim, hidden_dim)
        self.W_ix, self.W_ih = weight(input_dim, hidden_dim), weight(hidden_dim, hidden_dim)
        self.W_fx, self.W_fh = weight(input_dim, hidden_dim), weight(hidden_dim, hidden_dim)
        self.W_ox, self.W_oh = weight(input_dim, hidden_dim), weight(hidden_dim, hidden_dim)
        self.W_ph = weight(hidden_dim, output_dim)
        self.b_g = nn.Parameter(torch.zeros(hidden_dim))
        self.b_i = nn.Parameter(torch.zeros(hidden_dim))
        self.b_f = nn.Parameter(torch.ones(hidden_dim))
        self.b_o = nn.Parameter(torch.zeros(hidden_dim))
        self.b_p = nn.Parameter(torch.zeros(output_dim))

    def init_hidden(self, batch_size, device='cpu'):
        zeros = torch.zeros(batch_size, self.hidden_dim, device=device)
        return zeros, zeros.clone()

    def forward(self, x_t, hidden):
        # x_t: (batch, input_dim), one time step; hidden: (h, c), each (batch, hidden_dim)
        h, c = hidden
        g = torch.tanh(x_t @ self.W_gx + h @ self.W_gh + self.b_g)
        i = torch.sigmoid(x_t @ self.W_ix + h @ self.W_ih + self.b_i)
        f = torch.sigmoid(x_t @ self.W_fx + h @ self.W_fh + self.b_f)
        o = torch.sigmoid(x_t @ self.W_ox + h @ self.W_oh + self.b_o)
        c = g * i + c * f
        h = torch.tanh(c) * o
        p = h @ self.W_ph + self.b_p
        return p, (h, c)
