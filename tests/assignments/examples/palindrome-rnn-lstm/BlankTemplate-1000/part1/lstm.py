"""A long short-term memory network from scratch (hand-out Task 3, Eq. 4-10).

For t = 1 .. T, starting from h(0) = 0 and c(0) = 0:

    g(t) = tanh(W_gx x(t) + W_gh h(t-1) + b_g)        (4)  input modulation
    i(t) = sigm(W_ix x(t) + W_ih h(t-1) + b_i)        (5)  input gate
    f(t) = sigm(W_fx x(t) + W_fh h(t-1) + b_f)        (6)  forget gate
    o(t) = sigm(W_ox x(t) + W_oh h(t-1) + b_o)        (7)  output gate
    c(t) = g(t) * i(t) + c(t-1) * f(t)                 (8)  cell state
    h(t) = tanh(c(t)) * o(t)                           (9)  hidden state
    p(t) = W_ph h(t) + b_p                             (10) output logits

where * is the element-wise product.

Not allowed here: torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU, their *Cell
versions, torch.nn.Linear and torch.nn.functional.linear. Write the equations
with tensor operations (x @ W.T, torch.tanh, torch.sigmoid, ...).
"""

import torch
import torch.nn as nn


class LSTM(nn.Module):
    """LSTM that reads a sequence and returns the logits p(T) of its last step.

    These conventions are FIXED so that the grader can compare your cell with the
    reference cell, setting the weights by name: keep the names and shapes.

    Parameters: create each one as an ``nn.Parameter`` attribute of ``self``,
    named after the symbol in the hand-out (H = num_hidden, D = input_dim,
    C = num_classes), and no other parameters:

        self.W_gx (H, D)  self.W_gh (H, H)  self.b_g (H,)   input modulation g, Eq. 4
        self.W_ix (H, D)  self.W_ih (H, H)  self.b_i (H,)   input gate i, Eq. 5
        self.W_fx (H, D)  self.W_fh (H, H)  self.b_f (H,)   forget gate f, Eq. 6
        self.W_ox (H, D)  self.W_oh (H, H)  self.b_o (H,)   output gate o, Eq. 7
        self.W_ph (C, H)  self.b_p (C,)                     output layer, Eq. 10

    Initialise them sensibly yourself: small random weights (e.g.
    nn.init.xavier_uniform_, or uniform in [-1/sqrt(H), 1/sqrt(H)]), biases near
    zero; think about where the forget-gate bias b_f should start.

    forward(x):
        x       (B, T) float digits, exactly as the DataLoader gives them, or
                (B, T, D). B may be any batch size, not only ``batch_size``.
        h(0), c(0)  zeros, shape (B, H), created in forward.
        returns the logits p(T) of the LAST time step, shape (B, C): no softmax
                (nn.CrossEntropyLoss applies the log-softmax itself).
    """

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super().__init__()
        self.seq_length = seq_length
        self.input_dim = input_dim
        self.num_hidden = num_hidden
        self.num_classes = num_classes
        self.batch_size = batch_size
        self.device = device

        # TODO: create the 14 parameters listed in the class docstring as nn.Parameter,
        #       initialise them, and delete the raise below.
        raise NotImplementedError(
            "LSTM.__init__ is not implemented yet: create the parameters W_gx, W_gh, b_g, "
            "W_ix, W_ih, b_i, W_fx, W_fh, b_f, W_ox, W_oh, b_o (shapes (H, D), (H, H), (H,)) "
            "and W_ph (C, H), b_p (C,) as nn.Parameter (see the class docstring in part1/lstm.py)")

    def forward(self, x):
        # TODO: accept x of shape (B, T) or (B, T, D); start from h(0) = c(0) = 0 of shape
        #       (B, H); loop over t = 1 .. T applying Eq. 4-9; return p(T) of Eq. 10, (B, C).
        raise NotImplementedError(
            "LSTM.forward is not implemented yet: implement the gates g, i, f, o, the cell "
            "c(t) = g(t) * i(t) + c(t-1) * f(t) and h(t) = tanh(c(t)) * o(t) for t = 1..T with "
            "h(0) = c(0) = 0, and return the logits p(T) = W_ph h(T) + b_p of shape (B, C) "
            "(hand-out Eq. 4-10)")
