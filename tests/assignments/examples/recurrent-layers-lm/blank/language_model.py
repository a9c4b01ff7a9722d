# %% [markdown]
# # Part 2: a word-level language model with recurrent networks (PyTorch)
#
# This file and `LanguageModelling.ipynb` hold the same code: work in whichever you like
# and hand in that one (the notebook's experiment cells and answers are only in the
# notebook). The grader loads the definitions only (imports, functions, classes, simple
# constants); nothing at module level may train or read files.
#
# A language model gives the probability of the next word given the words before it,
# p(w(t+1) | w(1), ..., w(t)). It is trained with the cross-entropy of the next word,
#
#     L = -(1/N) sum_t log p(w(t+1) | w(1..t))        (mean over all N predicted words)
#
# and measured by the perplexity PP = exp(L): the number of equally likely words the model
# is, on average, as uncertain as. A model that knows nothing has PP = vocabulary size.
#
# Shapes in the comments: B batch, T time steps (seq_length), E embed_size,
# H hidden_size, L hidden_layers, V ntoken (vocabulary size).

# %%
import argparse
import math
import re
import time
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from data import BOOKS, load_book

UNK = "<unk>"  # stands for every word seen fewer than min_count times in the training part

# %% [markdown]
# ## 1. Data
#
# `tokenize` (given) turns a book into tokens: the text is lowercased; a token is a word
# (letters and digits, with inner apostrophes kept: `don't`, `elizabeth's`) or a single
# punctuation mark (`,` `.` `"` `;` `-` ...); Project Gutenberg's `_italics_` underscores
# are dropped; line breaks are just spaces.
#
# `Dataset` cuts the token stream into a training part (the first `train_split` of the
# tokens) and a validation part (the rest), builds the vocabulary from the training part
# and serves consecutive, non-overlapping windows of `seq_length` tokens.


# %%
def tokenize(text):
    """Lowercased words (inner apostrophes kept) and single punctuation marks. Given."""
    return re.findall(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]", text.lower())


class Dataset(torch.utils.data.Dataset):
    """Windows of a book's token ids, for next-word prediction.

    Dataset(seq_length, path=None, train=True, train_split=0.8, device="cpu", min_count=2)

    path         a text file, or the name of a janeaustenr book (see data.BOOKS);
                 None: Pride and Prejudice.
    train        the first ``train_split`` of the tokens (True) or the rest (False).

    Vocabulary (the same for the training and the validation set: both build it from
    the training part): ``self.vocab[0]`` is "<unk>", then every word that occurs at
    least ``min_count`` times in the training part, the most frequent first (ties in
    alphabetical order). ``self.word2idx`` maps a word to its id; any other word is
    "<unk>". ``self.ntoken == len(self.vocab)``.

    ``self.data``: the ids of this part's tokens, an int64 tensor (n,) on ``device``.
    Item i is the window starting at token i * seq_length:

        x = data[i*T : i*T + T],  y = data[i*T + 1 : i*T + T + 1]   (T = seq_length)

    both int64 (T,): y[t] is the word that follows x[t]. len() = (n - 1) // T.
    """

    def __init__(self, seq_length, path=None, train=True, train_split=0.8, device="cpu",
                 min_count=2):
        super().__init__()
        self.seq_length = seq_length
        self.train = train
        self.device = torch.device(device)
        if path is None or path in BOOKS:
            text = load_book(path or "prideprejudice")
        else:
            text = load_book(path=path)
        tokens = tokenize(text)
        n_train = int(len(tokens) * train_split)

        # TODO: build self.vocab (list, id -> word: "<unk>" first, then the words seen at
        #       least min_count times in tokens[:n_train], most frequent first, ties in
        #       alphabetical order; collections.Counter helps), self.word2idx (dict, word ->
        #       id) and self.data (int64 tensor on self.device: the ids of this part's tokens,
        #       tokens[:n_train] if train else tokens[n_train:]; self.encode helps).
        raise NotImplementedError(
            "Dataset.__init__ is not implemented yet: build self.vocab ('<unk>' first, then "
            "the words seen >= min_count times in the training part, most frequent first), "
            "self.word2idx and self.data (the int64 ids of this part's tokens) in "
            "language_model.py")

    @property
    def ntoken(self):
        return len(self.vocab)                                      # V

    def encode(self, words):
        """Token ids of a list of words; unknown words are <unk> (id 0). Given."""
        unk = self.word2idx[UNK]
        return [self.word2idx.get(w, unk) for w in words]

    def decode(self, ids):
        """Words of a sequence of token ids. Given."""
        return [self.vocab[int(i)] for i in ids]

    def __len__(self):
        # TODO: the number of windows, (n - 1) // seq_length
        raise NotImplementedError(
            "Dataset.__len__ is not implemented yet: return (len(self.data) - 1) // "
            "self.seq_length in language_model.py")

    def __getitem__(self, i):
        # TODO: return (x, y), the window of seq_length ids starting at i * seq_length and
        #       the same window shifted by one token; raise IndexError when i >= len(self).
        raise NotImplementedError(
            "Dataset.__getitem__ is not implemented yet: return x = data[i*T : i*T + T] and "
            "y = data[i*T + 1 : i*T + T + 1] (T = seq_length) in language_model.py")


# %% [markdown]
# ## 2. Models
#
# Both models embed the token ids, run a stack of `hidden_layers` recurrent layers over
# them and map every hidden state to V logits (a score per word; the softmax is in the
# loss). `RNNModel` uses vanilla tanh RNN layers, `GatedModel` LSTM layers (or GRU with
# `cell="gru"`). PyTorch's recurrent layers are allowed in this part.
#
# `forward(x, state)`: x (B, T) int64 ids, state None (zeros) or the state returned by
# the previous call -> (logits (B, T, V), state). The state is a tensor (L, B, H) for
# RNN and GRU layers, a tuple (h, c) of two (L, B, H) tensors for LSTM layers.


# %%
class RNNModel(nn.Module):
    """Embedding -> L tanh RNN layers -> linear decoder, with dropout between them."""

    def __init__(self, ntoken, embed_size=64, hidden_size=64, hidden_layers=2, seq_length=20,
                 dropout=0.1, device="cpu"):
        super().__init__()
        self.ntoken = ntoken
        self.hidden_size = hidden_size
        self.hidden_layers = hidden_layers
        self.seq_length = seq_length          # the training window; forward takes any T
        self.device = torch.device(device)
        # TODO: create the layers (an embedding, dropout, hidden_layers tanh RNN layers with
        #       batch_first=True, a linear decoder H -> V) and move them to `device`.
        raise NotImplementedError(
            "RNNModel.__init__ is not implemented yet: create an nn.Embedding(ntoken, "
            "embed_size), dropout, an nn.RNN(embed_size, hidden_size, hidden_layers, "
            "batch_first=True) and an nn.Linear(hidden_size, ntoken) in language_model.py")

    def init_state(self, batch_size):
        """h(0) = 0 for every layer: (L, B, H). Given."""
        return torch.zeros(self.hidden_layers, batch_size, self.hidden_size, device=self.device)

    def forward(self, x, state=None):
        """x (B, T) int64 ids, state None or (L, B, H) -> (logits (B, T, V), state (L, B, H))."""
        # TODO: embed, dropout, the RNN layers (from `state`), dropout, decode every step.
        raise NotImplementedError(
            "RNNModel.forward is not implemented yet: embed x (B, T), run the RNN from "
            "`state` and decode every step to logits (B, T, ntoken); return (logits, state) "
            "in language_model.py")


class GatedModel(nn.Module):
    """Embedding -> L LSTM (or GRU) layers -> linear decoder, with dropout between them."""

    def __init__(self, ntoken, embed_size=64, hidden_size=64, hidden_layers=2, seq_length=20,
                 dropout=0.1, device="cpu", cell="lstm"):
        super().__init__()
        self.ntoken = ntoken
        self.hidden_size = hidden_size
        self.hidden_layers = hidden_layers
        self.seq_length = seq_length
        self.device = torch.device(device)
        self.cell = cell
        # TODO: as RNNModel, with nn.LSTM (cell="lstm") or nn.GRU (cell="gru") layers.
        raise NotImplementedError(
            "GatedModel.__init__ is not implemented yet: create an nn.Embedding, dropout, an "
            "nn.LSTM (or nn.GRU for cell='gru') with hidden_layers layers and batch_first=True, "
            "and an nn.Linear(hidden_size, ntoken) in language_model.py")

    def init_state(self, batch_size):
        """Zeros: (h, c) of (L, B, H) each for the LSTM, h (L, B, H) for the GRU. Given."""
        h = torch.zeros(self.hidden_layers, batch_size, self.hidden_size, device=self.device)
        return (h, h.clone()) if self.cell == "lstm" else h

    def forward(self, x, state=None):
        """x (B, T) int64 ids, state None or as returned -> (logits (B, T, V), state)."""
        # TODO
        raise NotImplementedError(
            "GatedModel.forward is not implemented yet: embed x (B, T), run the LSTM from "
            "`state` and decode every step to logits (B, T, ntoken); return (logits, state) "
            "in language_model.py")


# %% [markdown]
# ## 3. Training and evaluation
#
# Every batch is B windows drawn in random order, and every window starts from the zero
# state (state None): the windows of a batch are not consecutive, so there is no state
# to carry over. Gradient clipping rescales all gradients together so that their global
# norm is at most `clip` (`torch.nn.utils.clip_grad_norm_`), before the optimiser step.


# %%
def train_one_epoch(model, dataset, optimizer, criterion, batch_size, clip=None):
    """One pass over ``dataset`` in random order; returns the mean training loss per token.

    model.train(); batches from DataLoader(dataset, batch_size, shuffle=True); each batch
    starts from state None; criterion(logits (B*T, V), targets (B*T,)); when ``clip`` is
    not None, clip the global gradient norm to ``clip`` before optimizer.step().
    """
    # TODO
    raise NotImplementedError(
        "train_one_epoch is not implemented yet: for every shuffled batch compute the logits "
        "(state None), the cross-entropy of the next words, zero the gradients, backward, "
        "clip_grad_norm_(model.parameters(), clip) when clip is not None, optimizer.step(); "
        "return the mean loss per token (language_model.py)")


@torch.no_grad()
def evaluate(model, dataset, criterion, batch_size):
    """Mean cross-entropy per predicted token over the whole dataset (model.eval()).

    Every token counts once (a smaller last batch weighs less); each batch starts from
    state None. Returns a float.
    """
    # TODO
    raise NotImplementedError(
        "evaluate is not implemented yet: with model.eval() and no gradients, average the "
        "cross-entropy over every predicted token of the dataset (batches in order, state "
        "None) and return it as a float (language_model.py)")


def perplexity(loss):
    """PP = exp(mean cross-entropy in nats); ``loss`` a float or a 0-d tensor."""
    # TODO
    raise NotImplementedError(
        "perplexity is not implemented yet: return exp(loss), the exponential of the mean "
        "cross-entropy, as a float (language_model.py)")


def train(model, train_set, val_set, epochs=10, batch_size=32, lr=3e-3, clip=None,
          time_budget=None, verbose=True):
    """Adam on the cross-entropy; returns the history of every epoch. Given.

    history: {"train_loss", "val_loss", "val_perplexity", "seconds"} -> one list each
    (seconds: the time since the start, at the end of each epoch). Stops after
    ``epochs`` epochs or, when ``time_budget`` (seconds) is given, after the first epoch
    that ends past it.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    history = {"train_loss": [], "val_loss": [], "val_perplexity": [], "seconds": []}
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        train_loss = train_one_epoch(model, train_set, optimizer, criterion, batch_size, clip)
        val_loss = evaluate(model, val_set, criterion, batch_size)
        seconds = time.perf_counter() - start
        for key, value in zip(history, (train_loss, val_loss, perplexity(val_loss), seconds)):
            history[key].append(value)
        if verbose:
            print(f"epoch {epoch:3d}  train loss {train_loss:.3f}  val loss {val_loss:.3f}  "
                  f"val perplexity {perplexity(val_loss):8.2f}  ({seconds:.0f} s)")
        if time_budget is not None and seconds > time_budget:
            break
    return history


# %% [markdown]
# ## 4. Generating text
#
# Starting from a prompt, the model predicts a distribution over the next word; we
# **sample** a word from it (argmax would repeat the same few words), feed it back and
# go on. The temperature divides the logits: below 1 the text is safer, above 1 wilder.


# %%
@torch.no_grad()
def generate(model, dataset, prompt, length, temperature=1.0):
    """Sample ``length`` words after ``prompt``; returns them (not the prompt) joined by
    single spaces. Uses torch's global random generator (seed it to repeat a sample)."""
    # TODO: tokenize and encode the prompt, run the model over it (state None), then
    #       `length` times: softmax(last logits / temperature), torch.multinomial to sample
    #       the next id, feed it back with the state. Return the sampled words joined by " ".
    raise NotImplementedError(
        "generate is not implemented yet: run the model over the encoded prompt, then "
        "`length` times sample the next word from softmax(logits / temperature) with "
        "torch.multinomial and feed it back; return the sampled words joined by spaces "
        "(language_model.py)")


# %% [markdown]
# Run this file to train one model from the command line, e.g.
# `python language_model.py --model gated --epochs 20 --clip 0.25`.


# %%
def main(argv=None):
    parser = argparse.ArgumentParser(description="Train a word-level language model.")
    parser.add_argument("--model", choices=["rnn", "gated"], default="gated")
    parser.add_argument("--book", default=None, help="a text file or a janeaustenr book name")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--seq_length", type=int, default=20)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--clip", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    train_set = Dataset(args.seq_length, args.book, train=True, device=args.device)
    val_set = Dataset(args.seq_length, args.book, train=False, device=args.device)
    model_class = RNNModel if args.model == "rnn" else GatedModel
    model = model_class(train_set.ntoken, seq_length=args.seq_length, device=args.device)
    history = train(model, train_set, val_set, epochs=args.epochs,
                    batch_size=args.batch_size, lr=args.lr, clip=args.clip)
    print(f"best validation perplexity {min(history['val_perplexity']):.1f}")
    print(generate(model, train_set, "it is a truth universally acknowledged", 30))


if __name__ == "__main__":
    main()
