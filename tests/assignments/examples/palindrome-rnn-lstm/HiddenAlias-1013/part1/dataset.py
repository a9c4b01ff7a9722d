"""Palindrome numbers as a PyTorch dataset (hand-out Task 1).

Given to students as is: you do not need to change this file.

Each item is one random palindrome of ``seq_length`` digits, split into the
first ``seq_length - 1`` digits (the input sequence) and the last digit (the
target class). Because the last digit of a palindrome equals its first digit,
the network must remember the first input for the whole sequence.

The digits come from numpy's global random generator, so ``np.random.seed(s)``
makes the data deterministic.
"""

import math
import sys

import numpy as np
import torch.utils.data as data


class PalindromeDataset(data.Dataset):

    def __init__(self, seq_length):
        self.seq_length = seq_length

    def __len__(self):
        # There are 10 ** ceil(seq_length / 2) palindromes: practically endless,
        # so we report the largest integer and draw a fresh one on every access.
        return sys.maxsize

    def __getitem__(self, idx):
        # idx is ignored: every access draws a new random palindrome.
        # The inputs are the digits as float scalars (no one-hot encoding;
        # one-hot inputs train faster, but scalars work too).
        full_palindrome = self.generate_palindrome()            # (seq_length,)
        # inputs: the first seq_length - 1 digits, target: the last digit
        return full_palindrome[0:-1], int(full_palindrome[-1])

    def generate_palindrome(self):
        # A random left half, mirrored: 1 2 3 -> 1 2 3 2 1 (odd), 1 2 -> 1 2 2 1 (even).
        left = [np.random.randint(0, 10) for _ in range(math.ceil(self.seq_length / 2))]
        left = np.asarray(left, dtype=np.float32)
        right = np.flip(left, 0) if self.seq_length % 2 == 0 else np.flip(left[:-1], 0)
        return np.concatenate((left, right))
