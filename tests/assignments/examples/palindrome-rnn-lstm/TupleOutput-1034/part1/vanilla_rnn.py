# Vanilla RNN (Task 1). forward returns the last hidden state too, for the
# gradient-norm experiment of Question 1.3; train.py keeps the second item.
import math

import torch
import torch.nn as nn


class VanillaRNN(nn.Module):

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super(VanillaRNN, self).__init__()
        self.num_hidden = num_hidden
        std = 1.0 / math.sqrt(num_hidden)
        self.W_hx = nn.Parameter(torch.empty(num_hidden, input_dim).uniform_(-std, std))
        self.W_hh = nn.Parameter(torch.empty(num_hidden, num_hidden).uniform_(-std, std))
        self.b_h = nn.Parameter(torch.zeros(num_hidden, 1))
        self.W_ph = nn.Parameter(torch.empty(num_classes, num_hidden).uniform_(-std, std))
        self.b_p = nn.Parameter(torch.zeros(num_classes, 1))
        self.to(device)

    def forward(self, x):
        # x is (batch, seq_length); the state is kept as columns, (num_hidden, batch)
        h = torch.zeros(self.num_hidden, x.shape[0])
        for t in range(x.shape[1]):
            x_t = x[:, t].reshape(1, -1)
            h = torch.tanh(self.W_hx @ x_t + self.W_hh @ h + self.b_h)
        p = self.W_ph @ h + self.b_p
        return h.t(), p.t()
