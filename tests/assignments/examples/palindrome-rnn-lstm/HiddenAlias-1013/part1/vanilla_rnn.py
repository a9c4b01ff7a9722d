"""A vanilla recurrent network from scratch (hand-out Task 2, Eq. 1-2).

For t = 1 .. T, starting from h(0) = 0:

    h(t) = tanh(W_hx x(t) + W_hh h(t-1) + b_h)        (1)
    p(t) = W_ph h(t) + b_p                             (2)

Only the last output p(T) is used: it holds the logits of the predicted digit.
The loss (nn.CrossEntropyLoss) applies the softmax of Eq. 3 itself.

Shapes in the comments: B batch, T time steps, D input_dim, H num_hidden,
C num_classes. A batch holds one row per sequence, so the equations' column
vectors become rows and W x becomes x @ W.T.
"""

import torch
import torch.nn as nn


class VanillaRNN(nn.Module):

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super().__init__()
        self.seq_length = seq_length
        self.input_dim = input_dim
        self.num_hidden = num_hidden
        self.num_classes = num_classes
        self.batch_size = batch_size  # kept for the skeleton's signature: forward takes any B
        self.device = device

        H, D, C = num_hidden, input_dim, num_classes
        self.W_hx = nn.Parameter(torch.empty(H, D))  # input  -> hidden
        self.W_hh = nn.Parameter(torch.empty(H, H))  # hidden -> hidden (the recurrence)
        self.b_h = nn.Parameter(torch.empty(H))
        self.W_ph = nn.Parameter(torch.empty(C, H))  # hidden -> output
        self.b_p = nn.Parameter(torch.empty(C))
        self.reset_parameters()
        self.to(device)

    def reset_parameters(self):
        # Weights: Glorot/Xavier uniform, W ~ U(-a, a) with a = sqrt(6 / (fan_in + fan_out)),
        # which keeps the variance of the signals about the same from layer to layer (and
        # from step to step), so tanh starts neither flat nor saturated. Biases start at 0.
        for name, param in self.named_parameters():
            if name.startswith('W_'):
                nn.init.xavier_uniform_(param)
            else:
                nn.init.zeros_(param)

    def forward(self, x):
        # x: (B, T) digits as scalars, as the DataLoader gives them, or (B, T, D)
        if x.dim() == 2:
            x = x.unsqueeze(-1)                                   # (B, T, 1)
        x = x.to(self.W_hx.dtype)
        B, T, _ = x.shape

        h = x.new_zeros(B, self.num_hidden)                       # h(0) = 0      (B, H)
        for t in range(T):
            x_t = x[:, t]                                         # x(t)          (B, D)
            h = torch.tanh(x_t @ self.W_hx.T + h @ self.W_hh.T + self.b_h)  # Eq. 1  (B, H)
        p = h @ self.W_ph.T + self.b_p                            # Eq. 2, t = T  (B, C)
        return p                                                  # logits of the last step
