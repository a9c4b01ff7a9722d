"""A vanilla recurrent network from scratch (hand-out Task 2, Eq. 1-2).

For t = 1 .. T, starting from h(0) = 0:

    h(t) = tanh(W_hx x(t) + W_hh h(t-1) + b_h)        (1)
    p(t) = W_ph h(t) + b_p                             (2)

Not allowed here: torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU, their *Cell
versions, torch.nn.Linear and torch.nn.functional.linear. Write the equations
with tensor operations (x @ W.T, torch.tanh, ...) and let autograd do the rest.
"""

import torch
import torch.nn as nn


class VanillaRNN(nn.Module):
    """Vanilla RNN that reads a sequence and returns the logits p(T) of its last step.

    These conventions are FIXED so that the grader can compare your cell with the
    reference cell, setting the weights by name: keep the names and shapes.

    Parameters: create each one as an ``nn.Parameter`` attribute of ``self``,
    named after the symbol in the hand-out (H = num_hidden, D = input_dim,
    C = num_classes), and no other parameters:

        self.W_hx  (H, D)   input-to-hidden weights
        self.W_hh  (H, H)   hidden-to-hidden (recurrent) weights
        self.b_h   (H,)     hidden bias
        self.W_ph  (C, H)   hidden-to-output weights
        self.b_p   (C,)     output bias

    Initialise them sensibly yourself: small random weights (e.g.
    nn.init.xavier_uniform_, or uniform in [-1/sqrt(H), 1/sqrt(H)]), zero biases.

    forward(x):
        x       (B, T) float digits, exactly as the DataLoader gives them, or
                (B, T, D). B may be any batch size, not only ``batch_size``.
        h(0)    zeros, shape (B, H), created in forward.
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

        # TODO: create self.W_hx, self.W_hh, self.b_h, self.W_ph and self.b_p as
        #       nn.Parameter with the shapes in the class docstring, initialise them,
        #       and delete the raise below.
        raise NotImplementedError(
            "VanillaRNN.__init__ is not implemented yet: create the parameters W_hx (H, D), "
            "W_hh (H, H), b_h (H,), W_ph (C, H) and b_p (C,) as nn.Parameter "
            "(see the class docstring in part1/vanilla_rnn.py)")

    def forward(self, x):
        # TODO: accept x of shape (B, T) or (B, T, D); start from h(0) = 0 of shape (B, H);
        #       loop over t = 1 .. T applying Eq. 1; return p(T) of Eq. 2, shape (B, C).
        raise NotImplementedError(
            "VanillaRNN.forward is not implemented yet: implement "
            "h(t) = tanh(W_hx x(t) + W_hh h(t-1) + b_h) for t = 1..T with h(0) = 0, and return "
            "the logits p(T) = W_ph h(T) + b_p of shape (B, C) (hand-out Eq. 1-2)")
