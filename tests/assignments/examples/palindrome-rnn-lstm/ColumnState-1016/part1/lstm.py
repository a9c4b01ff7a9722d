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
        self.batch_size = batch_size

        def weight(rows, cols):
            return nn.Parameter(torch.randn(rows, cols) / cols ** 0.5)

        def bias(rows):
            return nn.Parameter(torch.zeros(rows, 1))

        self.W_gx, self.W_gh, self.b_g = weight(num_hidden, input_dim), weight(num_hidden, num_hidden), bias(num_hidden)
        self.W_ix, self.W_ih, self.b_i = weight(num_hidden, input_dim), weight(num_hidden, num_hidden), bias(num_hidden)
        self.W_fx, self.W_fh, self.b_f = weight(num_hidden, input_dim), weight(num_hidden, num_hidden), bias(num_hidden)
        self.W_ox, self.W_oh, self.b_o = weight(num_hidden, input_dim), weight(num_hidden, num_hidden), bias(num_hidden)
        self.W_ph, self.b_p = weight(num_classes, num_hidden), bias(num_classes)

        # Learnable first states (the hand-out's h_init), one column broadcast over the batch.
        self.h_init = nn.Parameter(torch.zeros(num_hidden, 1))
        self.c_init = nn.Parameter(torch.zeros(num_hidden, 1))

    def forward(self, x):
        h = self.h_init @ torch.ones(1, self.batch_size)
        c = self.c_init @ torch.ones(1, self.batch_size)
        for t in range(self.seq_length):
            x_t = x[:, t].view(1, self.batch_size)
            g = torch.tanh(self.W_gx @ x_t + self.W_gh @ h + self.b_g)
            i = torch.sigmoid(self.W_ix @ x_t + self.W_ih @ h + self.b_i)
            f = torch.sigmoid(self.W_fx @ x_t + self.W_fh @ h + self.b_f)
            o = torch.sigmoid(self.W_ox @ x_t + self.W_oh @ h + self.b_o)
            c = g * i + c * f
            h = torch.tanh(c) * o
        p = self.W_ph @ h + self.b_p
        return p.t()
