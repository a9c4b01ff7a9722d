# Task 2 -- vanilla RNN.  h_t = tanh(W_hx x_t + W_hh h_{t-1} + b_h),  p_t = W_ph h_t + b_p,
# y_hat = softmax(p_T) (Eq. 1-3): the model returns the probabilities y_hat.
import torch
import torch.nn as nn


class VanillaRNN(nn.Module):

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super(VanillaRNN, self).__init__()
        self.seq_length = seq_length
        self.num_hidden = num_hidden
        self.device = device
        std = 0.1
        self.W_hx = nn.Parameter(std * torch.randn(num_hidden, input_dim))
        self.W_hh = nn.Parameter(std * torch.randn(num_hidden, num_hidden))
        self.W_ph = nn.Parameter(std * torch.randn(num_classes, num_hidden))
        self.b_h = nn.Parameter(torch.zeros(num_hidden, 1))
        self.b_p = nn.Parameter(torch.zeros(num_classes, 1))

    def forward(self, x):
        # x is (batch, seq_length); the equations use column vectors, so work with (H, batch)
        h = torch.zeros(self.num_hidden, x.shape[0], device=x.device)
        for t in range(self.seq_length):
            x_t = x[:, t].view(1, -1)
            h = torch.tanh(self.W_hx @ x_t + self.W_hh @ h + self.b_h)
        p = self.W_ph @ h + self.b_p
        y_hat = torch.softmax(p, dim=0)   # Eq. 3
        return y_hat.t()
