"""Train a vanilla RNN or an LSTM to predict the last digit of a palindrome.

Run it from the folder above part1/, either way:

    python -m part1.train --model_type LSTM --input_length 4
    python part1/train.py --model_type RNN --input_length 4 --device cpu

``--input_length`` counts the input digits: the palindromes have
``input_length + 1`` digits (hand-out: T digits, the first T - 1 are the input).

One step:  logits = model(x)                              (B, C)
           loss   = CrossEntropy(logits, y)               Eq. 3, mean over the batch
           grads  = d loss / d params                     back-propagation through time
           clip the gradient norm to max_norm, then one RMSProp update.
"""

import argparse
import os
import sys
import time
from datetime import datetime

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

if __package__ in (None, ""):
    # Run as `python part1/train.py`: make the folder above part1/ importable.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from part1.dataset import PalindromeDataset  # noqa: E402
from part1.lstm import LSTM  # noqa: E402
from part1.vanilla_rnn import VanillaRNN  # noqa: E402


def train(config):

    assert config.model_type in ('RNN', 'LSTM')

    if config.seed is not None:
        np.random.seed(config.seed)     # the dataset draws its digits from numpy
        torch.manual_seed(config.seed)  # the initial weights

    # Initialize the device which to run the model on
    device = torch.device(config.device)

    # Initialize the model that we are going to use
    model_class = VanillaRNN if config.model_type == 'RNN' else LSTM
    model = model_class(seq_length=config.input_length, input_dim=config.input_dim,
                        num_hidden=config.num_hidden, num_classes=config.num_classes,
                        batch_size=config.batch_size, device=device)

    # Initialize the dataset and data loader (note the +1: input digits + the target digit)
    dataset = PalindromeDataset(config.input_length + 1)
    data_loader = DataLoader(dataset, config.batch_size, num_workers=0)

    # Setup the loss and optimizer
    criterion = nn.CrossEntropyLoss()  # softmax + cross-entropy of the last step, Eq. 3
    optimizer = torch.optim.RMSprop(model.parameters(), lr=config.learning_rate)

    for step, (batch_inputs, batch_targets) in enumerate(data_loader):

        # Only for time measurement of step through network
        t1 = time.time()

        batch_inputs = batch_inputs.to(device)        # (B, T) float digits
        batch_targets = batch_targets.to(device)      # (B,)   int64 digits

        _, logits = model(batch_inputs)               # (state, p(T)): p(T) is (B, C)
        loss = criterion(logits, batch_targets)       # Eq. 3  scalar

        optimizer.zero_grad()
        loss.backward()                               # back-propagation through time

        # Rescale the gradient so that its norm (over all parameters together) is at
        # most max_norm: one exploding step cannot then throw the weights far away.
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=config.max_norm)

        optimizer.step()                              # RMSProp update

        loss = loss.item()
        accuracy = (logits.argmax(dim=1) == batch_targets).float().mean().item()

        # Just for time measurement
        t2 = time.time()
        examples_per_second = config.batch_size / max(t2 - t1, 1e-9)

        if step % config.print_every == 0:
            print("[{}] Train Step {:04d}/{:04d}, Batch Size = {}, Learning Rate = {}, "
                  "Examples/Sec = {:.2f}, Accuracy = {:.2f}, Loss = {:.3f}".format(
                      datetime.now().strftime("%Y-%m-%d %H:%M"), step,
                      config.train_steps, config.batch_size, config.learning_rate,
                      examples_per_second, accuracy, loss))

        if step == config.train_steps:
            break

    print('Done training.')
    return {'step': step, 'loss': loss, 'accuracy': accuracy}


def parse_config(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])

    # Model params
    parser.add_argument('--model_type', type=str, default="RNN",
                        help="Model type, should be 'RNN' or 'LSTM'")
    parser.add_argument('--input_length', type=int, default=10,
                        help='Length of an input sequence')
    parser.add_argument('--input_dim', type=int, default=1,
                        help='Dimensionality of input sequence')
    parser.add_argument('--num_classes', type=int, default=10,
                        help='Dimensionality of output sequence')
    parser.add_argument('--num_hidden', type=int, default=128,
                        help='Number of hidden units in the model')
    parser.add_argument('--batch_size', type=int, default=128,
                        help='Number of examples to process in a batch')
    parser.add_argument('--learning_rate', type=float, default=0.001,
                        help='Learning rate')
    parser.add_argument('--train_steps', type=int, default=10000,
                        help='Number of training steps')
    parser.add_argument('--max_norm', type=float, default=10.0)
    parser.add_argument('--device', type=str, default="cuda:0",
                        help="Training device 'cpu' or 'cuda:0' (falls back to cpu without CUDA)")

    # Extras, not in the original skeleton
    parser.add_argument('--print_every', type=int, default=100,
                        help='Print the loss and accuracy every this many steps')
    parser.add_argument('--seed', type=int, default=None,
                        help='Seed numpy and torch for a reproducible run')

    config = parser.parse_args(argv)
    if config.device.startswith('cuda') and not torch.cuda.is_available():
        print(f"CUDA is not available: training on the cpu instead of {config.device}")
        config.device = 'cpu'
    return config


if __name__ == "__main__":

    # Parse training configuration
    config = parse_config()

    # Train the model
    train(config)
