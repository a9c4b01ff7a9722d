# MIT License
# 2019 edition: run from inside part1/ (python train.py ...), logs to TensorBoard.

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import argparse
import time
from datetime import datetime

import torch
from torch.utils.data import DataLoader
from torch.utils.tensorboard import SummaryWriter

from dataset import PalindromeDataset
from vanilla_rnn import VanillaRNN
from lstm import LSTM


def train(config):
    assert config.model_type in ('RNN', 'LSTM')
    device = torch.device(config.device)
    writer = SummaryWriter(comment='_{}_T{}'.format(config.model_type, config.input_length))

    Model = VanillaRNN if config.model_type == 'RNN' else LSTM
    model = Model(config.input_length, config.input_dim, config.num_hidden,
                  config.num_classes, device).to(device)

    dataset = PalindromeDataset(config.input_length + 1)
    data_loader = DataLoader(dataset, config.batch_size, num_workers=1)

    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=config.learning_rate)

    for step, (batch_inputs, batch_targets) in enumerate(data_loader):
        t1 = time.time()
        batch_inputs, batch_targets = batch_inputs.to(device), batch_targets.to(device)

        out = model(batch_inputs)
        loss = criterion(out, batch_targets)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=config.max_norm)
        optimizer.step()

        accuracy = (out.argmax(1) == batch_targets).float().mean().item()
        writer.add_scalar('loss', loss.item(), step)
        writer.add_scalar('accuracy', accuracy, step)

        t2 = time.time()
        examples_per_second = config.batch_size / float(t2 - t1 + 1e-9)
        if step % 10 == 0:
            print("[{}] Train Step {:04d}/{:04d}, Batch Size = {}, Learning Rate = {}, "
                  "Examples/Sec = {:.2f}, Accuracy = {:.2f}, Loss = {:.3f}".format(
                      datetime.now().strftime("%Y-%m-%d %H:%M"), step, config.train_steps,
                      config.batch_size, config.learning_rate, examples_per_second,
                      accuracy, loss.item()))

        if step == config.train_steps:
            break

    writer.close()
    print('Done training.')


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
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
    train(config)
