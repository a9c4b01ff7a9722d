"""A long short-term memory network from scratch (hand-out Task 3, Eq. 4-10).

For t = 1 .. T, starting from h(0) = 0 and c(0) = 0:

    g(t) = tanh(W_gx x(t) + W_gh h(t-1) + b_g)        (4)  input modulation
    i(t) = sigm(W_ix x(t) + W_ih h(t-1) + b_i)        (5)  input gate
    f(t) = sigm(W_fx x(t) + W_fh h(t-1) + b_f)        (6)  forget gate
    o(t) = sigm(W_ox x(t) + W_oh h(t-1) + b_o)        (7)  output gate
    c(t) = g(t) * i(t) + c(t-1) * f(t)                 (8)  cell state
    h(t) = tanh(c(t)) * o(t)                           (9)  hidden state
    p(t) = W_ph h(t) + b_p                             (10) output logits

where * is the element-wise product. Only the last output p(T) is used; the loss
(nn.CrossEntropyLoss) applies the softmax of Eq. 11 itself.

Shapes in the comments: B batch, T time steps, D input_dim, H num_hidden,
C num_classes. A batch holds one row per sequence, so W x becomes x @ W.T.
"""

import torch
import torch.nn as nn


class LSTM(nn.Module):

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super().__init__()
        self.seq_length = seq_length
        self.input_dim = input_dim
        self.num_hidden = num_hidden
        self.num_classes = num_classes
        self.batch_size = batch_size  # kept for the skeleton's signature: forward takes any B
        self.device = device

        H, D, C = num_hidden, input_dim, num_classes
        # one (W_*x, W_*h, b_*) triple per gate
        self.W_gx = nn.Parameter(torch.empty(H, D))
        self.W_gh = nn.Parameter(torch.empty(H, H))
        self.b_g = nn.Parameter(torch.empty(H))
        self.W_ix = nn.Parameter(torch.empty(H, D))
        self.W_ih = nn.Parameter(torch.empty(H, H))
        self.b_i = nn.Parameter(torch.empty(H))
        self.W_fx = nn.Parameter(torch.empty(H, D))
        self.W_fh = nn.Parameter(torch.empty(H, H))
        self.b_f = nn.Parameter(torch.empty(H))
        self.W_ox = nn.Parameter(torch.empty(H, D))
        self.W_oh = nn.Parameter(torch.empty(H, H))
        self.b_o = nn.Parameter(torch.empty(H))
        # the output layer, as in the vanilla RNN
        self.W_ph = nn.Parameter(torch.empty(C, H))
        self.b_p = nn.Parameter(torch.empty(C))
        self.reset_parameters()
        self.to(device)

    def reset_parameters(self):
        # Weights: Glorot/Xavier uniform, W ~ U(-a, a) with a = sqrt(6 / (fan_in + fan_out)),
        # which keeps the variance of the signals about the same from step to step, so the
        # gates start neither flat nor saturated. Biases start at 0 ...
        for name, param in self.named_parameters():
            if name.startswith('W_'):
                nn.init.xavier_uniform_(param)
            else:
                nn.init.zeros_(param)
        # ... except the forget gate's, which starts at 1: then f(t) = sigm(1 + ...) is
        # about 0.73 and the cell state c(t) keeps most of c(t-1) from the first step on,
        # so the first digit (and its gradient) survives the sequence while training
        # begins (Gers et al. 2000; Jozefowicz et al. 2015). With f(t) near 0.5 that
        # memory would halve at every step.
        nn.init.ones_(self.b_f)

    def forward(self, x):
        # x: (B, T) digits as scalars, as the DataLoader gives them, or (B, T, D)
        if x.dim() == 2:
            x = x.unsqueeze(-1)                                   # (B, T, 1)
        x = x.to(self.W_gx.dtype)
        B, T, _ = x.shape

        h = x.new_zeros(B, self.num_hidden)                       # h(0) = 0      (B, H)
        c = x.new_zeros(B, self.num_hidden)                       # c(0) = 0      (B, H)
        for t in range(T):
            x_t = x[:, t]                                                           # (B, D)
            g = torch.tanh(x_t @ self.W_gx.T + h @ self.W_gh.T + self.b_g)     # Eq. 4  (B, H)
            i = torch.sigmoid(x_t @ self.W_ix.T + h @ self.W_ih.T + self.b_i)  # Eq. 5  (B, H)
            f = torch.sigmoid(x_t @ self.W_fx.T + h @ self.W_fh.T + self.b_f)  # Eq. 6  (B, H)
            o = torch.sigmoid(x_t @ self.W_ox.T + h @ self.W_oh.T + self.b_o)  # Eq. 7  (B, H)
            c = g * i                                                          # Eq. 8  (B, H)
            h = torch.tanh(c) * o                                              # Eq. 9  (B, H)
        p = h @ self.W_ph.T + self.b_p                            # Eq. 10, t = T  (B, C)
        return p                                                  # logits of the last step
