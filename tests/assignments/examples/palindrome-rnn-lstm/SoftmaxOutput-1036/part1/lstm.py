# Task 3 -- LSTM, Eq. 4-11 of the assignment, y_hat = softmax(p_T) returned by forward.
import torch
import torch.nn as nn


class LSTM(nn.Module):

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super(LSTM, self).__init__()
        self.seq_length = seq_length
        self.num_hidden = num_hidden
        self.device = device
        std = 0.1

        def weight(rows, cols):
            return nn.Parameter(std * torch.randn(rows, cols))

        def bias(rows):
            return nn.Parameter(torch.zeros(rows, 1))

        self.W_gx, self.W_gh, self.b_g = weight(num_hidden, input_dim), weight(num_hidden, num_hidden), bias(num_hidden)
        self.W_ix, self.W_ih, self.b_i = weight(num_hidden, input_dim), weight(num_hidden, num_hidden), bias(num_hidden)
        self.W_fx, self.W_fh, self.b_f = weight(num_hidden, input_dim), weight(num_hidden, num_hidden), bias(num_hidden)
        self.W_ox, self.W_oh, self.b_o = weight(num_hidden, input_dim), weight(num_hidden, num_hidden), bias(num_hidden)
        self.W_ph, self.b_p = weight(num_classes, num_hidden), bias(num_classes)

    def forward(self, x):
        batch = x.shape[0]
        h = torch.zeros(self.num_hidden, batch, device=x.device)
        c = torch.zeros(self.num_hidden, batch, device=x.device)
        for t in range(self.seq_length):
            x_t = x[:, t].view(1, -1)
            g = torch.tanh(self.W_gx @ x_t + self.W_gh @ h + self.b_g)       # (4)
            i = torch.sigmoid(self.W_ix @ x_t + self.W_ih @ h + self.b_i)    # (5)
            f = torch.sigmoid(self.W_fx @ x_t + self.W_fh @ h + self.b_f)    # (6)
            o = torch.sigmoid(self.W_ox @ x_t + self.W_oh @ h + self.b_o)    # (7)
            c = g * i + c * f                                                # (8)
            h = torch.tanh(c) * o                                            # (9)
        p = self.W_ph @ h + self.b_p                                         # (10)
        return torch.softmax(p, dim=0).t()                                   # (11)
