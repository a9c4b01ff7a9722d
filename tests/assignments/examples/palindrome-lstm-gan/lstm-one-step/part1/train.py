"""Train the LSTM to predict the last digit of a palindrome (Part I, Task 2).

Run it from this folder (part1/):

    python train.py                                   # the defaults: 20-digit palindromes
    python train.py --input_length 4 --max_epoch 20   # 5-digit palindromes
    python train.py --input_length 9 --input_dim 10   # one-hot digits

``--input_length`` counts the input digits T: the palindromes have T + 1 digits.
``--input_dim 1`` feeds the digits as scalars (B, T, 1), ``--input_dim 10`` one-hot (B, T, 10).

One step:  logits = model(x)                              p(T)      (B, C)
           loss   = CrossEntropy(logits, y)               Eq. 8-9, mean over the batch
           grads  = d loss / d params                     back-propagation through time
           clip the gradient norm to max_norm, then one RMSProp update.
"""

import argparse
from datetime import datetime

import numpy as np
import torch
import torch.nn as nn
from dataset import PalindromeDataset
from lstm import LSTM
from torch.utils.data import DataLoader, random_split


def run_lstm(model, batch_inputs, device):
    """Feed the sequence to the one-step LSTM, one time step at a time; the last logits."""
    hidden = model.init_hidden(batch_inputs.size(0), device)
    logits = None
    for t in range(batch_inputs.size(1)):
        logits, hidden = model(batch_inputs[:, t], hidden)
    return logits


def train(model, data_loader, optimizer, criterion, device, config):
    """One epoch of training; returns (average loss, average accuracy) over its examples."""
    model.train()
    total_loss, total_correct, total_seen = 0.0, 0, 0
    for step, (batch_inputs, batch_targets) in enumerate(data_loader):
        batch_inputs = batch_inputs.to(device)        # (B, T, D) float digits
        batch_targets = batch_targets.to(device)      # (B,)      int64 digits

        logits = run_lstm(model, batch_inputs, device)                  # p(T)      (B, C)
        loss = criterion(logits, batch_targets)       # Eq. 9     scalar, mean over B

        optimizer.zero_grad()
        loss.backward()                               # back-propagation through time

        # the following line is to deal with exploding gradients: rescale the gradient
        # so that its norm (over all parameters together) is at most max_norm
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=config.max_norm)

        optimizer.step()                              # RMSProp update

        batch_size = batch_targets.size(0)
        total_loss += loss.item() * batch_size        # loss summed over the examples
        total_correct += (logits.argmax(dim=1) == batch_targets).sum().item()
        total_seen += batch_size

        if step % config.print_every == 0:
            print(f"[{step}/{len(data_loader)}] train loss {total_loss / total_seen:.4f} "
                  f"accuracy {total_correct / total_seen:.4f}")
    return total_loss / total_seen, total_correct / total_seen


@torch.no_grad()
def evaluate(model, data_loader, criterion, device, config):
    """(average loss, average accuracy) over the examples of data_loader; no update."""
    model.eval()
    total_loss, total_correct, total_seen = 0.0, 0, 0
    for batch_inputs, batch_targets in data_loader:
        batch_inputs = batch_inputs.to(device)        # (B, T, D)
        batch_targets = batch_targets.to(device)      # (B,)

        logits = run_lstm(model, batch_inputs, device)                  # (B, C)
        loss = criterion(logits, batch_targets)       # mean over B

        batch_size = batch_targets.size(0)
        total_loss += loss.item() * batch_size
        total_correct += (logits.argmax(dim=1) == batch_targets).sum().item()
        total_seen += batch_size
    return total_loss / total_seen, total_correct / total_seen


def main(config):
    """Build the data, the model, the loss and RMSProp; train for config.max_epoch epochs.

    Returns the history: one dict per epoch with the train and validation loss and accuracy.
    """
    if config.input_dim not in (1, 10):
        raise ValueError("--input_dim must be 1 (digits as scalars) or 10 (one-hot digits), "
                         f"got {config.input_dim}")
    if config.seed is not None:
        np.random.seed(config.seed)     # the dataset draws its numbers from numpy
        torch.manual_seed(config.seed)  # the initial weights and the split

    # Initialize the device which to run the model on
    device = torch.device(config.device)

    # Initialize the model that we are going to use
    model = LSTM(config.input_length, config.input_dim, config.num_hidden, config.num_classes)
    model.to(device)

    # Initialize the dataset and data loader
    dataset = PalindromeDataset(config.input_length, config.data_size,
                                one_hot=config.input_dim == 10)
    # Split dataset into train and validation sets
    n_train = int(config.portion_train * len(dataset))
    train_dataset, val_dataset = random_split(dataset, [n_train, len(dataset) - n_train])
    # Create data loaders for training and validation
    train_dloader = DataLoader(train_dataset, config.batch_size, shuffle=True)
    val_dloader = DataLoader(val_dataset, config.batch_size, shuffle=False)

    # Setup the loss and optimizer
    criterion = nn.CrossEntropyLoss()   # softmax + cross-entropy of the last step, Eq. 8-9
    optimizer = torch.optim.RMSprop(model.parameters(), lr=config.learning_rate)

    history = []
    for epoch in range(config.max_epoch):
        # Train the model for one epoch
        train_loss, train_acc = train(model, train_dloader, optimizer, criterion, device, config)
        # Evaluate the trained model on the validation set
        val_loss, val_acc = evaluate(model, val_dloader, criterion, device, config)
        print(f"[{datetime.now():%Y-%m-%d %H:%M}] Epoch {epoch + 1}/{config.max_epoch}: "
              f"train loss {train_loss:.4f} accuracy {train_acc:.4f} | "
              f"validation loss {val_loss:.4f} accuracy {val_acc:.4f}")
        history.append({"epoch": epoch + 1, "train_loss": train_loss, "train_accuracy": train_acc,
                        "val_loss": val_loss, "val_accuracy": val_acc})
    print('Done training.')
    return history


def parse_config(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])

    # Model params
    parser.add_argument('--input_length', type=int, default=19,
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
    parser.add_argument('--max_epoch', type=int, default=100,
                        help='Number of epochs to run for')
    parser.add_argument('--max_norm', type=float, default=10.0)
    parser.add_argument('--data_size', type=int, default=100000,
                        help='Size of the total dataset')
    parser.add_argument('--portion_train', type=float, default=0.8,
                        help='Portion of the total dataset used for training')

    # Extras, not in the original skeleton
    parser.add_argument('--device', type=str,
                        default="cuda" if torch.cuda.is_available() else "cpu",
                        help="Training device: 'cpu' or 'cuda' (default: cuda when available)")
    parser.add_argument('--print_every', type=int, default=100,
                        help='Print the running loss and accuracy every this many steps')
    parser.add_argument('--seed', type=int, default=None,
                        help='Seed numpy and torch for a reproducible run')
    return parser.parse_args(argv)


if __name__ == "__main__":
    # Parse training configuration
    config = parse_config()
    # Train the model
    main(config)
