"""Part I, Task 2: train the LSTM on palindromes.

Run as a module from the repository root:  python -m part1.train --input_length 19
"""
import argparse

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, random_split

from .dataset import PalindromeDataset
from .lstm import LSTM


def accuracy(logits, targets):
    return (logits.argmax(dim=-1) == targets).float().mean().item()


def train(model, data_loader, optimizer, criterion, device, config):
    model.train()
    epoch_loss, epoch_acc = 0.0, 0.0
    for batch_inputs, batch_targets in data_loader:
        batch_inputs = batch_inputs.to(device)
        batch_targets = batch_targets.to(device)
        logits = model(batch_inputs)
        loss = criterion(logits, batch_targets)
        optimizer.zero_grad()
        loss.backward()
        # the following line is to deal with exploding gradients
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=config.max_norm)
        optimizer.step()
        epoch_loss += loss.item()
        epoch_acc += accuracy(logits, batch_targets)
    return epoch_loss / len(data_loader), epoch_acc / len(data_loader)


@torch.no_grad()
def evaluate(model, data_loader, criterion, device, config):
    model.eval()
    epoch_loss, epoch_acc = 0.0, 0.0
    for batch_inputs, batch_targets in data_loader:
        batch_inputs = batch_inputs.to(device)
        batch_targets = batch_targets.to(device)
        logits = model(batch_inputs)
        epoch_loss += criterion(logits, batch_targets).item()
        epoch_acc += accuracy(logits, batch_targets)
    return epoch_loss / len(data_loader), epoch_acc / len(data_loader)


def main(config):
    device = torch.device(config.device)
    model = LSTM(config.input_length, config.input_dim, config.num_hidden,
                 config.num_classes).to(device)
    dataset = PalindromeDataset(config.input_length, config.data_size)
    n_train = int(config.portion_train * len(dataset))
    train_set, val_set = random_split(dataset, [n_train, len(dataset) - n_train])
    train_loader = DataLoader(train_set, config.batch_size, shuffle=True)
    val_loader = DataLoader(val_set, config.batch_size)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=config.learning_rate)
    for epoch in range(config.max_epoch):
        train_loss, train_acc = train(model, train_loader, optimizer, criterion, device, config)
        val_loss, val_acc = evaluate(model, val_loader, criterion, device, config)
        print(f"epoch {epoch + 1:3d}  train {train_loss:.4f} / {train_acc:.3f}  "
              f"val {val_loss:.4f} / {val_acc:.3f}")
    print('Done training.')


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
    main(config)
