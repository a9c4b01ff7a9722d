# MIT License
#
# Copyright (c) 2017 Tom Runia
#
# Author: Deep Learning Course | Fall 2018
# Date Created: 2018-09-04
################################################################################
# Run from inside part1/:  python train.py
# __main__ runs the whole experiment of Question 1.3 and 1.6: both models on palindromes
# of length 5 to 30, 10000 steps each, and plots the final accuracy against the length.

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import argparse
import os
import time
from datetime import datetime

import numpy as np
import torch
from torch.utils.data import DataLoader

from dataset import PalindromeDataset
from vanilla_rnn import VanillaRNN
from lstm import LSTM

################################################################################


def train(config):

    assert config.model_type in ('RNN', 'LSTM')

    # Initialize the device which to run the model on
    device = torch.device(config.device if torch.cuda.is_available() else 'cpu')

    # Initialize the model that we are going to use
    if config.model_type == 'RNN':
        model = VanillaRNN(config.input_length, config.input_dim, config.num_hidden,
                           config.num_classes, config.batch_size, device)
    else:
        model = LSTM(config.input_length, config.input_dim, config.num_hidden,
                     config.num_classes, config.batch_size, device)
    model.to(device)

    # Initialize the dataset and data loader (note the +1)
    dataset = PalindromeDataset(config.input_length + 1)
    data_loader = DataLoader(dataset, config.batch_size, num_workers=1)

    # Setup the loss and optimizer
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=config.learning_rate)

    accuracies = []
    for step, (batch_inputs, batch_targets) in enumerate(data_loader):

        # Only for time measurement of step through network
        t1 = time.time()
        batch_inputs, batch_targets = batch_inputs.to(device), batch_targets.to(device)

        out = model(batch_inputs)
        loss = criterion(out, batch_targets)
        optimizer.zero_grad()
        loss.backward()

        ############################################################################
        # QUESTION: what happens here and why?
        # It rescales the whole gradient when its norm is above max_norm (exploding
        # gradients), so the step stays bounded.
        ############################################################################
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=config.max_norm)
        ############################################################################

        optimizer.step()

        accuracy = (out.argmax(dim=1) == batch_targets).float().mean().item()
        accuracies.append(accuracy)

        # Just for time measurement
        t2 = time.time()
        examples_per_second = config.batch_size / float(t2 - t1 + 1e-9)

        if step % 500 == 0:
            print("[{}] {} T={} Train Step {:04d}/{:04d}, Batch Size = {}, Learning Rate = {}, "
                  "Examples/Sec = {:.2f}, Accuracy = {:.2f}, Loss = {:.3f}".format(
                      datetime.now().strftime("%Y-%m-%d %H:%M"), config.model_type,
                      config.input_length + 1, step, config.train_steps, config.batch_size,
                      config.learning_rate, examples_per_second, accuracy, loss))

        if step == config.train_steps:
            # If you receive a PyTorch data-loader error, check this bug report:
            # https://github.com/pytorch/pytorch/pull/9655
            break

    print('Done training.')
    return np.mean(accuracies[-100:])


################################################################################
################################################################################

if __name__ == "__main__":

    # Parse training configuration
    parser = argparse.ArgumentParser()

    # Model params
    parser.add_argument('--model_type', type=str, default="RNN", help="Model type, should be 'RNN' or 'LSTM'")
    parser.add_argument('--input_length', type=int, default=10, help='Length of an input sequence')
    parser.add_argument('--input_dim', type=int, default=1, help='Dimensionality of input sequence')
    parser.add_argument('--num_classes', type=int, default=10, help='Dimensionality of output sequence')
    parser.add_argument('--num_hidden', type=int, default=128, help='Number of hidden units in the model')
    parser.add_argument('--batch_size', type=int, default=128, help='Number of examples to process in a batch')
    parser.add_argument('--learning_rate', type=float, default=0.001, help='Learning rate')
    parser.add_argument('--train_steps', type=int, default=10000, help='Number of training steps')
    parser.add_argument('--max_norm', type=float, default=10.0)
    parser.add_argument('--device', type=str, default="cuda:0", help="Training device 'cpu' or 'cuda:0'")

    config = parser.parse_args()

    # The experiment of the report: accuracy against palindrome length for both models
    # (it sets the model, the length and the number of steps itself).
    lengths = list(range(5, 31, 5))
    results = {}
    for model_type in ['RNN', 'LSTM']:
        results[model_type] = []
        for T in lengths:
            config.model_type = model_type
            config.input_length = T - 1
            config.train_steps = 10000
            results[model_type].append(train(config))

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    for model_type, accs in results.items():
        plt.plot(lengths, accs, 'o-', label=model_type)
    plt.xlabel('palindrome length T')
    plt.ylabel('accuracy (last 100 steps)')
    plt.legend()
    os.makedirs('plots', exist_ok=True)
    plt.savefig(os.path.join('plots', 'accuracy_vs_length.png'))
