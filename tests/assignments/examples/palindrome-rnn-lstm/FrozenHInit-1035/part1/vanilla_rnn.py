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

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super(VanillaRNN, self).__init__()
        self.seq_length = seq_length
        self.num_hidden = num_hidden
        self.device = device

        bound = 1.0 / math.sqrt(num_hidden)
        self.W_hx = nn.Parameter(torch.empty(input_dim, num_hidden).uniform_(-bound, bound))
        self.W_hh = nn.Parameter(torch.empty(num_hidden, num_hidden).uniform_(-bound, bound))
        self.b_h = nn.Parameter(torch.zeros(num_hidden))
        self.W_ph = nn.Parameter(torch.empty(num_hidden, num_classes).uniform_(-bound, bound))
        self.b_p = nn.Parameter(torch.zeros(num_classes))

        # h_init is the fixed zero state of the hand-out: a buffer, so it moves with
        # .to(device) and is saved in the state dict, but the optimizer never sees it.
        self.register_buffer('h_init', torch.zeros(1, num_hidden))

    def forward(self, x):
        # x: (batch, seq_length) digits as scalars
        h = self.h_init.expand(x.size(0), -1)
        for t in range(self.seq_length):
            x_t = x[:, t].view(-1, 1)
            h = torch.tanh(x_t @ self.W_hx + h @ self.W_hh + self.b_h)
        return h @ self.W_ph + self.b_p
