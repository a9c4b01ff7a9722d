# MIT License
#
# Copyright (c) 2017 Tom Runia
#
# Permission is hereby granted, free of charge, to any person obtaining a copy
# of this software and associated documentation files (the "Software"), to conditions.
#
# Author: Deep Learning Course | Fall 2018
# Date Created: 2018-09-04
################################################################################
# Run from the folder above part1/:  python part1/train.py --model_type LSTM
# Every run logs its curve to logs/, keeps checkpoints in checkpoints/ and its final
# accuracy in results/acc.txt (the folders of my repository, with .gitkeep files).

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import argparse
import os
import sys
import time
from datetime import datetime

import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from part1.dataset import PalindromeDataset  # noqa: E402
from part1.vanilla_rnn import VanillaRNN  # noqa: E402
from part1.lstm import LSTM  # noqa: E402

################################################################################


def train(config):

    assert config.model_type in ('RNN', 'LSTM')

    # Initialize the device which to run the model on
    device = torch.device(config.device)
    run_name = '{}_T{}'.format(config.model_type, config.input_length + 1)

    # the log file is opened before anything else, in logs/ (which the script does not make)
    log = open(os.path.join('logs', run_name + '.csv'), 'w')
    log.write('step,loss,accuracy\n')

    # Initialize the model that we are going to use
    if config.model_type == 'RNN':
        model = VanillaRNN(config.input_length, config.input_dim, config.num_hidden,
                           config.num_classes, config.batch_size, config.device)
    else:
        model = LSTM(config.input_length, config.input_dim, config.num_hidden,
                     config.num_classes, config.batch_size, config.device)
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
        batch_inputs = batch_inputs.to(device)
        batch_targets = batch_targets.to(device)

        out = model(batch_inputs)
        loss = criterion(out, batch_targets)

        optimizer.zero_grad()
        loss.backward()

        ############################################################################
        # QUESTION: what happens here and why?
        # clip_grad_norm_ rescales the gradients when their norm exceeds max_norm, so
        # one exploding gradient cannot throw the weights away.
        ############################################################################
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=config.max_norm)
        ############################################################################

        optimizer.step()

        accuracy = (out.argmax(dim=1) == batch_targets).float().mean().item()
        accuracies.append(accuracy)
        log.write('{},{:.5f},{:.4f}\n'.format(step, loss.item(), accuracy))

        # Just for time measurement
        t2 = time.time()
        examples_per_second = config.batch_size / float(t2 - t1 + 1e-9)

        if step % 10 == 0:
            print("[{}] Train Step {:04d}/{:04d}, Batch Size = {}, Learning Rate = {}, "
                  "Examples/Sec = {:.2f}, Accuracy = {:.2f}, Loss = {:.3f}".format(
                      datetime.now().strftime("%Y-%m-%d %H:%M"), step,
                      config.train_steps, config.batch_size, config.learning_rate,
                      examples_per_second, accuracy, loss))

        if step % 100 == 0:
            # checkpoints/ exists in my repository too; the script makes it to be sure
            os.makedirs('checkpoints', exist_ok=True)
            torch.save(model.state_dict(), os.path.join('checkpoints', run_name + '.pt'))

        if step == config.train_steps:
            # If you receive a PyTorch data-loader error, check this bug report:
            # https://github.com/pytorch/pytorch/pull/9655
            break

    log.close()
    print('Done training.')

    # the final accuracy (mean of the last 100 steps) for the plot of the report
    with open(os.path.join('results', 'acc.txt'), 'a') as f:
        f.write('{} {} {:.4f}\n'.format(config.model_type, config.input_length + 1,
                                       np.mean(accuracies[-100:])))


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

    # Train the model
    train(config)
