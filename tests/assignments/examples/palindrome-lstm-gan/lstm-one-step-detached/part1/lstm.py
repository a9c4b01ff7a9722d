import torch
import torch.nn as nn


class LSTM(nn.Module):
    """An LSTM cell: one call is one time step."""

    def __init__(self, seq_length, input_dim, hidden_dim, output_dim):
        super(LSTM, self).__init__()
        self.hidden_dim = hidden_dim
        self.gx = nn.Linear(input_dim, hidden_dim)
        self.gh = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.ix = nn.Linear(input_dim, hidden_dim)
        self.ih = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.fx = nn.Linear(input_dim, hidden_dim)
        self.fh = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.ox = nn.Linear(input_dim, hidden_dim)
        self.oh = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.ph = nn.Linear(hidden_dim, output_dim)

    def forward(self, x, h_prev, c_prev):
        g = torch.tanh(self.gx(x) + self.gh(h_prev))
        i = torch.sigmoid(self.ix(x) + self.ih(h_prev))
        f = torch.sigmoid(self.fx(x) + self.fh(h_prev))
        o = torch.sigmoid(self.ox(x) + self.oh(h_prev))
        c = g * i + c_prev * f
        h = torch.tanh(c) * o
        out = self.ph(h)
        # keep the graph small: the next step starts from plain tensors
        return out, h.detach(), c.detach()
