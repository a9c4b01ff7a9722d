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

class VanillaRNN(nn.Module):

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super(VanillaRNN, self).__init__()
        self.seq_length = seq_length
        self.batch_size = batch_size
        self.device = device

        # Column vectors, as in the equations: W x(t) with x(t) of shape (d, B).
        std = 1.0 / num_hidden ** 0.5
        self.W_hx = nn.Parameter(torch.randn(num_hidden, input_dim) * std)
        self.W_hh = nn.Parameter(torch.randn(num_hidden, num_hidden) * std)
        self.b_h = nn.Parameter(torch.zeros(num_hidden, 1))
        self.W_ph = nn.Parameter(torch.randn(num_classes, num_hidden) * std)
        self.b_p = nn.Parameter(torch.zeros(num_classes, 1))
        # h_init: the special first state of the hand-out, learned with the rest.
        self.h_init = nn.Parameter(torch.zeros(num_hidden, 1))

    def forward(self, x):
        h = self.h_init.expand(-1, self.batch_size)
        for t in range(self.seq_length):
            x_t = x[:, t].reshape(1, -1)           # (1, B)
            h = torch.tanh(self.W_hx @ x_t + self.W_hh @ h + self.b_h)
        p = self.W_ph @ h + self.b_p               # (C, B)
        return p.t()
