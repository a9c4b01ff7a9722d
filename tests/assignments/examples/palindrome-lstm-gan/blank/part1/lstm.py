"""A long short-term memory network from scratch (Part I, Task 1, Eq. 1-8).

For t = 1 .. T, starting from h(0) = 0 and c(0) = 0:

    g(t) = tanh(W_gx x(t) + W_gh h(t-1) + b_g)        (1)  input modulation
    i(t) = sigm(W_ix x(t) + W_ih h(t-1) + b_i)        (2)  input gate
    f(t) = sigm(W_fx x(t) + W_fh h(t-1) + b_f)        (3)  forget gate
    o(t) = sigm(W_ox x(t) + W_oh h(t-1) + b_o)        (4)  output gate
    c(t) = g(t) * i(t) + c(t-1) * f(t)                 (5)  cell state
    h(t) = tanh(c(t)) * o(t)                           (6)  hidden state
    p(t) = W_ph h(t) + b_p                             (7)  output logits

where * is the element-wise product.

Not allowed here: torch.nn.LSTM, torch.nn.LSTMCell (nor nn.RNN, nn.GRU and their
cells) and torch._VF. Write the equations with tensor operations (x @ W.T,
torch.tanh, torch.sigmoid, ...) and a for loop over time.
"""

import torch
import torch.nn as nn


class LSTM(nn.Module):
    """LSTM that reads a sequence and returns the logits p(T) of its last step.

    These conventions are FIXED so that the grader can compare your cell with the
    reference cell, setting the weights by name: keep the names and shapes.

    Parameters: create each one as an ``nn.Parameter`` attribute of ``self``,
    named after the symbol in the hand-out (H = hidden_dim, D = input_dim,
    C = output_dim), and no other parameters:

        self.W_gx (H, D)  self.W_gh (H, H)  self.b_g (H,)   input modulation g, Eq. 1
        self.W_ix (H, D)  self.W_ih (H, H)  self.b_i (H,)   input gate i, Eq. 2
        self.W_fx (H, D)  self.W_fh (H, H)  self.b_f (H,)   forget gate f, Eq. 3
        self.W_ox (H, D)  self.W_oh (H, H)  self.b_o (H,)   output gate o, Eq. 4
        self.W_ph (C, H)  self.b_p (C,)                     output layer, Eq. 7

    (torch.nn.Linear is not forbidden in this edition, but a Linear layer would name
    its parameters ``...weight`` and ``...bias``: create the 14 above directly.)
    Initialise them sensibly yourself: small random weights (e.g.
    nn.init.xavier_uniform_, or uniform in [-1/sqrt(H), 1/sqrt(H)]), biases near
    zero; think about where the forget-gate bias b_f should start.

    forward(x):
        x       (B, T, D) float, as the DataLoader gives it: (B, T, 1) digits as
                scalars or (B, T, 10) one-hot digits; also accept (B, T) digits.
                B may be any batch size.
        h(0), c(0)  zeros, shape (B, H), created in forward.
        returns the logits p(T) of the LAST time step, shape (B, C): no softmax
                (nn.CrossEntropyLoss applies the log-softmax itself).
    """

    def __init__(self, seq_length, input_dim, hidden_dim, output_dim):
        super().__init__()
        self.seq_length = seq_length
        self.input_dim = input_dim
        self.hidden_dim = hidden_dim
        self.output_dim = output_dim

        # TODO: create the 14 parameters listed in the class docstring as nn.Parameter,
        #       initialise them, and delete the raise below.
        raise NotImplementedError(
            "LSTM.__init__ is not implemented yet: create the parameters W_gx, W_gh, b_g, "
            "W_ix, W_ih, b_i, W_fx, W_fh, b_f, W_ox, W_oh, b_o (shapes (H, D), (H, H), (H,)) "
            "and W_ph (C, H), b_p (C,) as nn.Parameter (see the class docstring in part1/lstm.py)")

    def forward(self, x):
        # TODO: accept x of shape (B, T, D) or (B, T); start from h(0) = c(0) = 0 of shape
        #       (B, H); loop over t = 1 .. T applying Eq. 1-6; return p(T) of Eq. 7, (B, C).
        raise NotImplementedError(
            "LSTM.forward is not implemented yet: implement the gates g, i, f, o, the cell "
            "c(t) = g(t) * i(t) + c(t-1) * f(t) and h(t) = tanh(c(t)) * o(t) for t = 1..T with "
            "h(0) = c(0) = 0, and return the logits p(T) = W_ph h(T) + b_p of shape (B, C) "
            "(hand-out Eq. 1-7)")
