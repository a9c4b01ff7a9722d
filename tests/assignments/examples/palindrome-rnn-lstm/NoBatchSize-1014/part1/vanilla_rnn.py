################################################################################
# MIT License
# 2019 edition of the skeleton: the constructor takes no batch_size.
################################################################################

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import torch
import torch.nn as nn

################################################################################

class VanillaRNN(nn.Module):

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, device='cpu'):
        super(VanillaRNN, self).__init__()
        self.seq_length = seq_length
        self.num_hidden = num_hidden
        self.device = device

        def weight(*shape):
            return nn.Parameter(torch.randn(*shape, device=device) * 0.1)

        # row layout: h_t = tanh(x_t W_hx + h_{t-1} W_hh + b_h), p_t = h_t W_ph + b_p
        self.W_hx = weight(input_dim, num_hidden)
        self.W_hh = weight(num_hidden, num_hidden)
        self.b_h = nn.Parameter(torch.zeros(num_hidden, device=device))
        self.W_ph = weight(num_hidden, num_classes)
        self.b_p = nn.Parameter(torch.zeros(num_classes, device=device))

    def forward(self, x):
        # x: (batch, seq_length) digits as floats
        h = torch.zeros(x.shape[0], self.num_hidden, device=x.device)
        for t in range(self.seq_length):
            x_t = x[:, t].view(-1, 1)
            h = torch.tanh(x_t @ self.W_hx + h @ self.W_hh + self.b_h)
        return h @ self.W_ph + self.b_p
