################################################################################
# MIT License
# Copyright (c) 2018
# Deep Learning Course, University of Amsterdam (skeleton A, 2018 edition)
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
        self.device = device

        def weight(rows, cols):
            return nn.Parameter(nn.init.xavier_normal_(torch.empty(rows, cols)))

        self.W_gx, self.W_gh, self.b_g = weight(input_dim, num_hidden), weight(num_hidden, num_hidden), nn.Parameter(torch.zeros(num_hidden))
        self.W_ix, self.W_ih, self.b_i = weight(input_dim, num_hidden), weight(num_hidden, num_hidden), nn.Parameter(torch.zeros(num_hidden))
        self.W_fx, self.W_fh, self.b_f = weight(input_dim, num_hidden), weight(num_hidden, num_hidden), nn.Parameter(torch.ones(num_hidden))
        self.W_ox, self.W_oh, self.b_o = weight(input_dim, num_hidden), weight(num_hidden, num_hidden), nn.Parameter(torch.zeros(num_hidden))
        self.W_ph, self.b_p = weight(num_hidden, num_classes), nn.Parameter(torch.zeros(num_classes))

        # The initial states are zero and stay zero: frozen, not learned.
        self.h_init = nn.Parameter(torch.zeros(1, num_hidden), requires_grad=False)
        self.c_init = nn.Parameter(torch.zeros(1, num_hidden), requires_grad=False)

    def forward(self, x):
        batch = x.size(0)
        h = self.h_init.repeat(batch, 1)
        c = self.c_init.repeat(batch, 1)
        for t in range(self.seq_length):
            x_t = x[:, t].view(-1, 1)
            g = torch.tanh(x_t @ self.W_gx + h @ self.W_gh + self.b_g)
            i = torch.sigmoid(x_t @ self.W_ix + h @ self.W_ih + self.b_i)
            f = torch.sigmoid(x_t @ self.W_fx + h @ self.W_fh + self.b_f)
            o = torch.sigmoid(x_t @ self.W_ox + h @ self.W_oh + self.b_o)
            c = g * i + c * f
            h = torch.tanh(c) * o
        return h @ self.W_ph + self.b_p
