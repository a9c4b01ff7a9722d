from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import argparse
import csv
import os

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from dataset import PalindromeDataset
from lstm import LSTM

# Outputs go next to this script: results/ (curves, kept in my repository with a .gitkeep)
# and model/ (the best weights). Neither is made here.
RESULTS_DIR = 'results'
MODEL_DIR = './model'


def train(model, data_loader, optimizer, criterion, device, config):
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for batch_inputs, batch_targets in tqdm(data_loader, leave=False):
        batch_inputs, batch_targets = batch_inputs.to(device), batch_targets.to(device)
        optimizer.zero_grad()
        logits = model(batch_inputs)
        loss = criterion(logits, batch_targets)
        loss.backward()
        # the following line is to deal with exploding gradients
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=config.max_norm)
        optimizer.step()
        total_loss += loss.item() * len(batch_targets)
        correct += (logits.argmax(dim=1) == batch_targets).sum().item()
        seen += len(batch_targets)
    return total_loss / seen, correct / seen


@torch.no_grad()
def evaluate(model, data_loader, criterion, device, config):
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    for batch_inputs, batch_targets in data_loader:
        batch_inputs, batch_targets = batch_inputs.to(device), batch_targets.to(device)
        logits = model(batch_inputs)
        total_loss += criterion(logits, batch_targets).item() * len(batch_targets)
        correct += (logits.argmax(dim=1) == batch_targets).sum().item()
        seen += len(batch_targets)
    return total_loss / seen, correct / seen


def main(config):
    device = torch.device(config.device)

    # the curve of this run, one row per epoch (opened before training starts)
    csv_file = open(os.path.join(RESULTS_DIR, 'lstm_T{}.csv'.format(config.input_length + 1)),
                    'w', newline='')
    writer = csv.writer(csv_file)
    writer.writerow(['epoch', 'train_loss', 'train_acc', 'val_loss', 'val_acc'])

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

    best_acc = -np.inf
    for epoch in range(config.max_epoch):
        train_loss, train_acc = train(model, train_dloader, optimizer, criterion, device, config)
        val_loss, val_acc = evaluate(model, val_dloader, criterion, device, config)
        writer.writerow([epoch, train_loss, train_acc, val_loss, val_acc])
        print('Epoch {}: train loss {:.4f} acc {:.4f} | val loss {:.4f} acc {:.4f}'.format(
            epoch, train_loss, train_acc, val_loss, val_acc))
        if val_acc > best_acc:
            best_acc = val_acc
            torch.save(model.state_dict(), os.path.join(MODEL_DIR, 'lstm_best.pth'))
    csv_file.close()
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
