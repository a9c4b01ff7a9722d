import torch
import torch.nn as nn


class VanillaRNN(nn.Module):
    """Weights stored (in, out) and used as x @ W; a ParameterDict; log-softmax output."""

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super().__init__()
        self.p = nn.ParameterDict({
            "Wxh": nn.Parameter(torch.randn(input_dim, num_hidden) * 0.1),
            "Whh": nn.Parameter(torch.randn(num_hidden, num_hidden) * 0.1),
            "bh": nn.Parameter(torch.zeros(num_hidden)),
            "Why": nn.Parameter(torch.randn(num_hidden, num_classes) * 0.1),
            "by": nn.Parameter(torch.zeros(num_classes)),
        })

    def forward(self, x):
        if x.dim() == 2:
            x = x.unsqueeze(2)
        h = torch.zeros(x.size(0), self.p["Whh"].size(0))
        for t in range(x.size(1)):
            h = torch.tanh(x[:, t] @ self.p["Wxh"] + h @ self.p["Whh"] + self.p["bh"])
        return torch.log_softmax(h @ self.p["Why"] + self.p["by"], dim=-1)
