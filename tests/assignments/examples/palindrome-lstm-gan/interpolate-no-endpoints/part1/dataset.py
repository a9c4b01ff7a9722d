"""Palindrome numbers as a PyTorch dataset (Part I).

Given to students as is: you do not need to change this file.

``PalindromeDataset(input_length, total_len, one_hot=False)`` holds ``total_len``
distinct palindromes of ``input_length + 1`` digits. Each is made from a distinct
number for its left half, zero-padded on the left (so a palindrome may start with 0)
and mirrored:

    input_length = 4:  number 12 -> left half 0 1 2 -> palindrome 0 1 2 1 0

Item ``idx`` is ``(inputs, target)``: the first ``input_length`` digits and the last
digit, which equals the first one, so the network must remember the first input for
the whole sequence.

    inputs  float32 (input_length, 1)   the digits as scalars       (one_hot=False)
            float32 (input_length, 10)  the digits one-hot encoded  (one_hot=True)
    target  int                         the last digit, 0..9

A DataLoader batch is then (B, T, 1) or (B, T, 10) float32 inputs and (B,) int64
targets, with T = input_length.

There are only 10 ** ceil((input_length + 1) / 2) distinct palindromes, so a larger
``total_len`` is reduced to that number (with a message). The numbers come from a
generator seeded by numpy's global one, so ``np.random.seed(s)`` makes the data
deterministic.
"""

import math

import numpy as np
import torch.utils.data as data


class PalindromeDataset(data.Dataset):

    def __init__(self, input_length, total_len, one_hot=False):
        self.input_length = input_length             # T: digits the network reads
        self.seq_length = input_length + 1           # digits in a palindrome (T + 1)
        self.half_length = math.ceil(self.seq_length / 2)
        max_num = 10 ** self.half_length             # distinct left halves
        if total_len > max_num:
            print(f"PalindromeDataset: only {max_num} distinct palindromes of "
                  f"{self.seq_length} digits exist; using {max_num} instead of {total_len}")
            total_len = max_num
        self.total_len = total_len
        self.one_hot = one_hot

        # total_len distinct numbers in [0, max_num), drawn without replacement
        rng = np.random.default_rng(np.random.randint(2 ** 31))
        numbers = rng.choice(max_num, size=total_len, replace=False)          # (N,)
        self.palindromes = self.generate_palindromes(numbers)                 # (N, T + 1)

        # digit -> input vector: a scalar, or a one-hot row of the identity
        self.mapping = (np.eye(10, dtype=np.float32) if one_hot
                        else np.arange(10, dtype=np.float32).reshape(10, 1))  # (10, 10|1)

    def __len__(self):
        return self.total_len

    def __getitem__(self, idx):
        full_palindrome = self.palindromes[idx]                 # (T + 1,) int64 digits
        # inputs: the first T digits, target: the last digit
        inputs, target = full_palindrome[0:-1], int(full_palindrome[-1])
        return self.mapping[inputs], target                     # (T, 1) or (T, 10), int

    def generate_palindromes(self, numbers):
        """Numbers (N,) -> palindromes (N, seq_length) of digits, left halves zero-padded."""
        powers = 10 ** np.arange(self.half_length - 1, -1, -1, dtype=np.int64)   # (half,)
        left = (np.asarray(numbers, dtype=np.int64)[:, None] // powers) % 10     # (N, half)
        # mirror: 1 2 3 -> 1 2 3 2 1 (odd length), 1 2 -> 1 2 2 1 (even length)
        right = left[:, ::-1] if self.seq_length % 2 == 0 else left[:, -2::-1]
        return np.concatenate((left, right), axis=1)
