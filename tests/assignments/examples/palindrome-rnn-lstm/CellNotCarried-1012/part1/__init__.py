"""Part 1 of the assignment: a vanilla RNN and an LSTM from scratch, trained on palindromes."""
