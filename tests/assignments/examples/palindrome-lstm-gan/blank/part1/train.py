"""Train the LSTM to predict the last digit of a palindrome (Part I, Task 2).

Run it from this folder (part1/):

    python train.py                                   # the defaults: 20-digit palindromes
    python train.py --input_length 4 --max_epoch 20   # 5-digit palindromes
    python train.py --input_length 9 --input_dim 10   # one-hot digits

``--input_length`` counts the input digits T: the palindromes have T + 1 digits.
``--input_dim 1`` feeds the digits as scalars (B, T, 1), ``--input_dim 10`` one-hot (B, T, 10).

What to write is marked TODO; each place raises NotImplementedError until you do.
The signatures of train, evaluate and main are FIXED (the grader calls them):

    train(model, data_loader, optimizer, criterion, device, config)
        one epoch of training: for every batch forward, loss, backward, the given
        gradient clipping, one optimizer step. Returns (average loss, average accuracy)
        over the examples of the epoch (the loss of each batch before its step).
    evaluate(model, data_loader, criterion, device, config)
        the same averages without changing the model (no optimizer, no gradients).
    main(config)
        the dataset, the train/validation split, the loaders, the LSTM, the loss
        (nn.CrossEntropyLoss) and the optimiser (torch.optim.RMSprop, required by the
        hand-out), then the given loop over the epochs.

``config`` is the namespace that parse_config() returns.
"""

import argparse
from datetime import datetime

import numpy as np
import torch
import torch.nn as nn
from dataset import PalindromeDataset
from lstm import LSTM
from torch.utils.data import DataLoader, random_split


def train(model, data_loader, optimizer, criterion, device, config):
    """One epoch of training; returns (average loss, average accuracy) over its examples."""
    # TODO: set the model to training mode
    total_loss, total_correct, total_seen = 0.0, 0, 0
    for step, (batch_inputs, batch_targets) in enumerate(data_loader):
        # TODO: move the batch to `device` (inputs (B, T, D), targets (B,)), compute the
        #       logits p(T) = model(batch_inputs) (B, C) and the loss with `criterion`,
        #       reset the gradients and back-propagate.

        # the following line is to deal with exploding gradients: rescale the gradient
        # so that its norm (over all parameters together) is at most max_norm
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=config.max_norm)

        # TODO: take the optimizer step; then add the batch's loss times its size to
        #       total_loss, its number of correct predictions (argmax of the logits equal
        #       to the target) to total_correct and its size to total_seen.

        if step % config.print_every == 0 and total_seen > 0:
            print(f"[{step}/{len(data_loader)}] train loss {total_loss / total_seen:.4f} "
                  f"accuracy {total_correct / total_seen:.4f}")
    if total_seen == 0:
        raise NotImplementedError(
            "train() is not implemented yet: for each batch compute logits = model(inputs), "
            "loss = criterion(logits, targets), optimizer.zero_grad(), loss.backward(), then "
            "(after the given clipping) optimizer.step(), and add up the loss, the correct "
            "predictions and the batch sizes to return (average loss, average accuracy) "
            "in part1/train.py")
    return total_loss / total_seen, total_correct / total_seen


@torch.no_grad()
def evaluate(model, data_loader, criterion, device, config):
    """(average loss, average accuracy) over the examples of data_loader; no update."""
    # TODO: set the model to evaluation mode
    total_loss, total_correct, total_seen = 0.0, 0, 0
    for batch_inputs, batch_targets in data_loader:
        # TODO: move the batch to `device`, compute the logits and the loss, and add the
        #       batch's loss times its size, its correct predictions and its size to the totals.
        pass
    if total_seen == 0:
        raise NotImplementedError(
            "evaluate() is not implemented yet: for each batch compute the logits and the "
            "loss (no backward, no optimizer step) and return (average loss, average "
            "accuracy) over the examples in part1/train.py")
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
    model = None  # TODO: the LSTM (sizes from config: input_length, input_dim, ...) on `device`

    # Initialize the dataset and data loader
    dataset = PalindromeDataset(config.input_length, config.data_size,
                                one_hot=config.input_dim == 10)
    # Split dataset into train and validation sets
    train_dataset = val_dataset = None  # TODO: random_split by config.portion_train
    # Create data loaders for training and validation
    train_dloader = val_dloader = None  # TODO: DataLoaders with config.batch_size

    # Setup the loss and optimizer
    criterion = None  # TODO: the cross-entropy loss of Eq. 9
    optimizer = None  # TODO: RMSProp (required by the hand-out) with config.learning_rate

    if any(v is None for v in (model, train_dloader, val_dloader, criterion, optimizer)):
        raise NotImplementedError(
            "main() is not implemented yet: create the LSTM, split the dataset into train "
            "and validation sets (config.portion_train), their DataLoaders, "
            "nn.CrossEntropyLoss and torch.optim.RMSprop with lr=config.learning_rate in "
            "part1/train.py")

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
