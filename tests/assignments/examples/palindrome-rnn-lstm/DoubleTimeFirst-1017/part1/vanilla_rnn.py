################################################################################
# MIT License
# Copyright (c) 2018
# Deep Learning Course, University of Amsterdam (skeleton A, 2018 edition)
################################################################################

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import math

import torch
import torch.nn as nn

################################################################################

class VanillaRNN(nn.Module):
    """Vanilla RNN in double precision, reading sequences time-first (T, B, D)."""

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super(VanillaRNN, self).__init__()
        self.seq_length = seq_length
        self.num_hidden = num_hidden
        k = 1.0 / math.sqrt(num_hidden)
        opts = dict(dtype=torch.float64)
        self.W_hx = nn.Parameter(torch.empty(input_dim, num_hidden, **opts).uniform_(-k, k))
        self.W_hh = nn.Parameter(torch.empty(num_hidden, num_hidden, **opts).uniform_(-k, k))
        self.b_h = nn.Parameter(torch.zeros(num_hidden, **opts))
        self.W_ph = nn.Parameter(torch.empty(num_hidden, num_classes, **opts).uniform_(-k, k))
        self.b_p = nn.Parameter(torch.zeros(num_classes, **opts))

    def forward(self, x):
        T, B = x.shape[0], x.shape[1]
        h = torch.zeros(B, self.num_hidden, dtype=torch.float64)
        for t in range(T):
            h = torch.tanh(x[t] @ self.W_hx + h @ self.W_hh + self.b_h)
        return h @ self.W_ph + self.b_p
