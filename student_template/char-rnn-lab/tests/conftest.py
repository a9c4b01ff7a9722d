"""Settings shared by the public tests."""

import torch

torch.set_num_threads(1)  # small models: one thread is fastest and keeps timings stable
