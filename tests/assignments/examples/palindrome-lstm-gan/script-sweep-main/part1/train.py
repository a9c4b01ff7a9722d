from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import argparse

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from dataset import PalindromeDataset
from lstm import LSTM


def train(model, data_loader, optimizer, criterion, device, config):
    model.train()
    losses, accuracies = [], []
    for step, (batch_inputs, batch_targets) in enumerate(data_loader):
        batch_inputs, batch_targets = batch_inputs.to(device), batch_targets.to(device)
        optimizer.zero_grad()
        outputs = model(batch_inputs)
        loss = criterion(outputs, batch_targets)
        loss.backward()
        # the following line is to deal with exploding gradients
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=config.max_norm)
        optimizer.step()
        losses.append(loss.item())
        accuracies.append((outputs.argmax(1) == batch_targets).float().mean().item())
    return sum(losses) / len(losses), sum(accuracies) / len(accuracies)


@torch.no_grad()
def evaluate(model, data_loader, criterion, device, config):
    model.eval()
    losses, accuracies = [], []
    for batch_inputs, batch_targets in data_loader:
        batch_inputs, batch_targets = batch_inputs.to(device), batch_targets.to(device)
        outputs = model(batch_inputs)
        losses.append(criterion(outputs, batch_targets).item())
        accuracies.append((outputs.argmax(1) == batch_targets).float().mean().item())
    return sum(losses) / len(losses), sum(accuracies) / len(accuracies)


def main(config):
    device = torch.device(config.device)
    model = LSTM(config.input_length, config.input_dim, config.num_hidden, config.num_classes)
    model.to(device)
    dataset = PalindromeDataset(config.input_length, config.data_size)
    train_size = int(config.portion_train * len(dataset))
    train_dataset, val_dataset = torch.utils.data.random_split(
        dataset, [train_size, len(dataset) - train_size])
    train_dloader = DataLoader(train_dataset, config.batch_size, shuffle=True)
    val_dloader = DataLoader(val_dataset, config.batch_size)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=config.learning_rate)
    history = {'train_acc': [], 'val_acc': []}
    for epoch in range(config.max_epoch):
        train_loss, train_acc = train(model, train_dloader, optimizer, criterion, device, config)
        val_loss, val_acc = evaluate(model, val_dloader, criterion, device, config)
        history['train_acc'].append(train_acc)
        history['val_acc'].append(val_acc)
        print('T={} epoch {}: train loss {:.4f} acc {:.4f}, val loss {:.4f} acc {:.4f}'.format(
            config.input_length + 1, epoch, train_loss, train_acc, val_loss, val_acc))
    print('Done training.')
    return history


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument('--input_length', type=int, default=19, help='Length of an input sequence')
    parser.add_argument('--input_dim', type=int, default=1, help='Dimensionality of input sequence')
    parser.add_argument('--num_classes', type=int, default=10, help='Dimensionality of output sequence')
    parser.add_argument('--num_hidden', type=int, default=128, help='Number of hidden units in the model')
    parser.add_argument('--batch_size', type=int, default=128, help='Number of examples to process in a batch')
    parser.add_argument('--learning_rate', type=float, default=0.001, help='Learning rate')
    parser.add_argument('--max_epoch', type=int, default=100, help='Number of epochs to run for')
    parser.add_argument('--max_norm', type=float, default=10)
    parser.add_argument('--data_size', type=int, default=100000, help='Size of the total dataset')
    parser.add_argument('--portion_train', type=float, default=0.8, help='Portion of the total dataset used for training')
    parser.add_argument('--device', type=str, default='cuda' if torch.cuda.is_available() else 'cpu')
    config = parser.parse_args()

    # Task 2 of the report: validation accuracy of the LSTM for several palindrome lengths,
    # each with the full data set and 100 epochs (the lengths and sizes are set here).
    results = {}
    for T in [5, 10, 15, 20]:
        config.input_length = T - 1
        config.max_epoch = 100
        config.data_size = 100000
        results[T] = main(config)

    for T, history in results.items():
        plt.plot(history['val_acc'], label='T = {}'.format(T))
    plt.xlabel('epoch')
    plt.ylabel('validation accuracy')
    plt.legend()
    plt.savefig('lstm_lengths.png')
