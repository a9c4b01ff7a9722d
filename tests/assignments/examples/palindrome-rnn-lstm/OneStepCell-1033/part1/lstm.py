################################################################################
# MIT License
# One-step cell: forward takes x(t), h(t-1) and c(t-1); train.py loops over time.
################################################################################

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import torch
import torch.nn as nn

################################################################################

class LSTM(nn.Module):

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super(LSTM, self).__init__()
        self.seq_length = seq_length
        self.num_hidden = num_hidden
        self.batch_size = batch_size
        self.device = device

        def w(rows, cols):
            return nn.Parameter(torch.randn(rows, cols, device=device) * 0.1)

        def b(size, value=0.0):
            return nn.Parameter(torch.full((size,), value, device=device))

        self.W_gx, self.W_gh, self.b_g = w(num_hidden, input_dim), w(num_hidden, num_hidden), b(num_hidden)
        self.W_ix, self.W_ih, self.b_i = w(num_hidden, input_dim), w(num_hidden, num_hidden), b(num_hidden)
        self.W_fx, self.W_fh, self.b_f = w(num_hidden, input_dim), w(num_hidden, num_hidden), b(num_hidden, 1.0)
        self.W_ox, self.W_oh, self.b_o = w(num_hidden, input_dim), w(num_hidden, num_hidden), b(num_hidden)
        self.W_ph, self.b_p = w(num_classes, num_hidden), b(num_classes)

    def forward(self, x, h, c):
        # x: (batch,) digits of one time step; h, c: (batch, num_hidden)
        x = x.view(-1, 1)
        g = torch.tanh(x @ self.W_gx.t() + h @ self.W_gh.t() + self.b_g)
        i = torch.sigmoid(x @ self.W_ix.t() + h @ self.W_ih.t() + self.b_i)
        f = torch.sigmoid(x @ self.W_fx.t() + h @ self.W_fh.t() + self.b_f)
        o = torch.sigmoid(x @ self.W_ox.t() + h @ self.W_oh.t() + self.b_o)
        c = g * i + c * f
        h = torch.tanh(c) * o
        p = h @ self.W_ph.t() + self.b_p
        return p, h, c
