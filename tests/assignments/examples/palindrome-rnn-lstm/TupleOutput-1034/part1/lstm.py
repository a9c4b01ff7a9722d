# LSTM (Task 2), Eq. 4-10 of the hand-out. Like the RNN, forward returns
# ((h, c), p): the state for the gradient experiment, then the logits.
import math

import torch
import torch.nn as nn


class LSTM(nn.Module):

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super(LSTM, self).__init__()
        self.num_hidden = num_hidden
        std = 1.0 / math.sqrt(num_hidden)

        def weight(rows, cols):
            return nn.Parameter(torch.empty(rows, cols).uniform_(-std, std))

        self.W_gx, self.W_gh = weight(num_hidden, input_dim), weight(num_hidden, num_hidden)
        self.W_ix, self.W_ih = weight(num_hidden, input_dim), weight(num_hidden, num_hidden)
        self.W_fx, self.W_fh = weight(num_hidden, input_dim), weight(num_hidden, num_hidden)
        self.W_ox, self.W_oh = weight(num_hidden, input_dim), weight(num_hidden, num_hidden)
        self.b_g = nn.Parameter(torch.zeros(num_hidden))
        self.b_i = nn.Parameter(torch.zeros(num_hidden))
        self.b_f = nn.Parameter(torch.ones(num_hidden))
        self.b_o = nn.Parameter(torch.zeros(num_hidden))
        self.W_ph = weight(num_classes, num_hidden)
        self.b_p = nn.Parameter(torch.zeros(num_classes))
        self.to(device)

    def forward(self, x):
        batch = x.shape[0]
        h = torch.zeros(batch, self.num_hidden)
        c = torch.zeros(batch, self.num_hidden)
        for t in range(x.shape[1]):
            x_t = x[:, t:t + 1]
            g = torch.tanh(x_t @ self.W_gx.t() + h @ self.W_gh.t() + self.b_g)
            i = torch.sigmoid(x_t @ self.W_ix.t() + h @ self.W_ih.t() + self.b_i)
            f = torch.sigmoid(x_t @ self.W_fx.t() + h @ self.W_fh.t() + self.b_f)
            o = torch.sigmoid(x_t @ self.W_ox.t() + h @ self.W_oh.t() + self.b_o)
            c = g * i + c * f
            h = torch.tanh(c) * o
        p = h @ self.W_ph.t() + self.b_p
        return (h, c), p
