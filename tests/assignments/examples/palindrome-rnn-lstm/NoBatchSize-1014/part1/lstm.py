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

class LSTM(nn.Module):

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, device='cpu'):
        super(LSTM, self).__init__()
        self.seq_length = seq_length
        self.num_hidden = num_hidden

        def gate():
            return (nn.Parameter(torch.randn(input_dim, num_hidden) * 0.1),
                    nn.Parameter(torch.randn(num_hidden, num_hidden) * 0.1),
                    nn.Parameter(torch.zeros(num_hidden)))

        self.W_gx, self.W_gh, self.b_g = gate()
        self.W_ix, self.W_ih, self.b_i = gate()
        self.W_fx, self.W_fh, self.b_f = gate()
        self.W_ox, self.W_oh, self.b_o = gate()
        self.W_ph = nn.Parameter(torch.randn(num_hidden, num_classes) * 0.1)
        self.b_p = nn.Parameter(torch.zeros(num_classes))
        self.to(device)

    def forward(self, x):
        B = x.shape[0]
        h = torch.zeros(B, self.num_hidden, device=x.device)
        c = torch.zeros(B, self.num_hidden, device=x.device)
        for t in range(self.seq_length):
            x_t = x[:, t].view(-1, 1)
            g = torch.tanh(x_t @ self.W_gx + h @ self.W_gh + self.b_g)
            i = torch.sigmoid(x_t @ self.W_ix + h @ self.W_ih + self.b_i)
            f = torch.sigmoid(x_t @ self.W_fx + h @ self.W_fh + self.b_f)
            o = torch.sigmoid(x_t @ self.W_ox + h @ self.W_oh + self.b_o)
            c = g * i + c * f
            h = torch.tanh(c) * o
        return h @ self.W_ph + self.b_p
