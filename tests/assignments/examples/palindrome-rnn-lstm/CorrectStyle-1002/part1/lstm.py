import torch
import torch.nn as nn


class LSTM(nn.Module):
    """PyTorch-style storage: fused gates in the order i, f, g, o, two biases, (in, out) weights."""

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super().__init__()
        self.num_hidden = num_hidden
        k = 1.0 / num_hidden ** 0.5
        self.weight_ih = nn.Parameter(torch.empty(input_dim, 4 * num_hidden).uniform_(-k, k))
        self.weight_hh = nn.Parameter(torch.empty(num_hidden, 4 * num_hidden).uniform_(-k, k))
        self.bias_ih = nn.Parameter(torch.zeros(4 * num_hidden))
        self.bias_hh = nn.Parameter(torch.zeros(4 * num_hidden))
        self.out_w = nn.Parameter(torch.empty(num_hidden, num_classes).uniform_(-k, k))
        self.out_b = nn.Parameter(torch.zeros(num_classes))

    def forward(self, x):
        x = x.view(x.shape[0], x.shape[1], -1)
        h = torch.zeros(x.shape[0], self.num_hidden)
        c = torch.zeros_like(h)
        for t in range(x.shape[1]):
            z = x[:, t] @ self.weight_ih + h @ self.weight_hh + self.bias_ih + self.bias_hh
            i, f, g, o = z.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        return torch.softmax(h @ self.out_w + self.out_b, dim=1)
