################################################################################
# MIT License
# One-step cell: forward takes x(t) and h(t-1); train.py loops over the sequence.
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
        self.num_hidden = num_hidden
        self.batch_size = batch_size
        self.device = device

        self.W_hx = nn.Parameter(torch.randn(num_hidden, input_dim, device=device) * 0.1)
        self.W_hh = nn.Parameter(torch.randn(num_hidden, num_hidden, device=device) * 0.1)
        self.b_h = nn.Parameter(torch.zeros(num_hidden, device=device))
        self.W_ph = nn.Parameter(torch.randn(num_classes, num_hidden, device=device) * 0.1)
        self.b_p = nn.Parameter(torch.zeros(num_classes, device=device))

    def forward(self, x, h):
        # x: (batch,) the digits of one time step; h: (batch, num_hidden), h(t-1)
        x = x.view(-1, 1)
        h = torch.tanh(x @ self.W_hx.t() + h @ self.W_hh.t() + self.b_h)   # Eq. 1
        p = h @ self.W_ph.t() + self.b_p                                   # Eq. 2
        return p, h
