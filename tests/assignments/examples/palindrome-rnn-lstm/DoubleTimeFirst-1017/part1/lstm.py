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
    """LSTM in double precision, reading sequences time-first (T, B, D)."""

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super(LSTM, self).__init__()
        self.num_hidden = num_hidden
        self.params = nn.ParameterDict()
        for gate in ['g', 'i', 'f', 'o']:
            self.params['W_' + gate + 'x'] = nn.Parameter(0.1 * torch.randn(input_dim, num_hidden, dtype=torch.double))
            self.params['W_' + gate + 'h'] = nn.Parameter(0.1 * torch.randn(num_hidden, num_hidden, dtype=torch.double))
            self.params['b_' + gate] = nn.Parameter(torch.zeros(num_hidden, dtype=torch.double))
        self.params['W_ph'] = nn.Parameter(0.1 * torch.randn(num_hidden, num_classes, dtype=torch.double))
        self.params['b_p'] = nn.Parameter(torch.zeros(num_classes, dtype=torch.double))

    def gate(self, name, x_t, h, act):
        p = self.params
        return act(x_t @ p['W_' + name + 'x'] + h @ p['W_' + name + 'h'] + p['b_' + name])

    def forward(self, x):
        h = torch.zeros(x.size(1), self.num_hidden, dtype=torch.double)
        c = torch.zeros_like(h)
        for x_t in x:                      # x: (T, B, D)
            g = self.gate('g', x_t, h, torch.tanh)
            i = self.gate('i', x_t, h, torch.sigmoid)
            f = self.gate('f', x_t, h, torch.sigmoid)
            o = self.gate('o', x_t, h, torch.sigmoid)
            c = g * i + c * f
            h = torch.tanh(c) * o
        return h @ self.params['W_ph'] + self.params['b_p']
