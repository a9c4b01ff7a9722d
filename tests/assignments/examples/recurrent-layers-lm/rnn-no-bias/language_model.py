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

        # vocabulary from the training part only: "<unk>", then by frequency
        counts = Counter(tokens[:n_train])
        words = sorted((w for w, c in counts.items() if c >= min_count and w != UNK),
                       key=lambda w: (-counts[w], w))
        self.vocab = [UNK] + words                                  # id -> word
        self.word2idx = {w: i for i, w in enumerate(self.vocab)}    # word -> id

        part = tokens[:n_train] if train else tokens[n_train:]
        self.data = torch.tensor(self.encode(part), dtype=torch.long,
                                 device=self.device)                # (n,)

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
        return (len(self.data) - 1) // self.seq_length

    def __getitem__(self, i):
        if not 0 <= i < len(self):
            raise IndexError(i)
        start = i * self.seq_length
        x = self.data[start:start + self.seq_length]                # w(t)     (T,)
        y = self.data[start + 1:start + self.seq_length + 1]        # w(t+1)   (T,)
        return x, y


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
        self.embedding = nn.Embedding(ntoken, embed_size)                # V -> E
        self.dropout = nn.Dropout(dropout)
        self.rnn = nn.RNN(embed_size, hidden_size, hidden_layers, nonlinearity="tanh",
                          batch_first=True, dropout=dropout if hidden_layers > 1 else 0.0)
        self.decoder = nn.Linear(hidden_size, ntoken)                    # H -> V
        self.to(device)

    def init_state(self, batch_size):
        """h(0) = 0 for every layer: (L, B, H). Given."""
        return torch.zeros(self.hidden_layers, batch_size, self.hidden_size, device=self.device)

    def forward(self, x, state=None):
        emb = self.dropout(self.embedding(x))               # (B, T, E)
        out, state = self.rnn(emb, state)                   # h(t) = tanh(W_x e(t) + W_h h(t-1) + b)
        logits = self.decoder(self.dropout(out))            # (B, T, H) -> (B, T, V)
        return logits, state                                # state: (L, B, H)


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
        layer = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.embedding = nn.Embedding(ntoken, embed_size)                # V -> E
        self.dropout = nn.Dropout(dropout)
        self.rnn = layer(embed_size, hidden_size, hidden_layers, batch_first=True,
                         dropout=dropout if hidden_layers > 1 else 0.0)
        self.decoder = nn.Linear(hidden_size, ntoken)                    # H -> V
        self.to(device)

    def init_state(self, batch_size):
        """Zeros: (h, c) of (L, B, H) each for the LSTM, h (L, B, H) for the GRU. Given."""
        h = torch.zeros(self.hidden_layers, batch_size, self.hidden_size, device=self.device)
        return (h, h.clone()) if self.cell == "lstm" else h

    def forward(self, x, state=None):
        emb = self.dropout(self.embedding(x))               # (B, T, E)
        out, state = self.rnn(emb, state)                   # gated recurrence, (B, T, H)
        logits = self.decoder(self.dropout(out))            # (B, T, V)
        return logits, state


# %% [markdown]
# ## 3. Training and evaluation
#
# Every batch is B windows drawn in random order, and every window starts from the zero
# state (state None): the windows of a batch are not consecutive, so there is no state
# to carry over. Gradient clipping rescales all gradients together so that their global
# norm is at most `clip` (`torch.nn.utils.clip_grad_norm_`), before the optimiser step.


# %%
def train_one_epoch(model, dataset, optimizer, criterion, batch_size, clip=None):
    """One pass over ``dataset`` in random order; returns the mean training loss per token."""
    model.train()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
    total_loss, total_tokens = 0.0, 0
    for x, y in loader:                                     # (B, T), (B, T)
        logits, _ = model(x, None)                          # (B, T, V)
        loss = criterion(logits.reshape(-1, logits.size(-1)), y.reshape(-1))  # mean over B*T
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)  # ||g|| <= clip
        optimizer.step()
        total_loss += loss.item() * y.numel()
        total_tokens += y.numel()
    return total_loss / total_tokens


@torch.no_grad()
def evaluate(model, dataset, criterion, batch_size):
    """Mean cross-entropy per predicted token over the whole dataset (model.eval())."""
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    total_loss, total_tokens = 0.0, 0
    for x, y in loader:
        logits, _ = model(x, None)                          # (B, T, V)
        loss = criterion(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        total_loss += loss.item() * y.numel()               # mean -> sum over the batch
        total_tokens += y.numel()
    return total_loss / total_tokens


def perplexity(loss):
    """PP = exp(mean cross-entropy in nats)."""
    return math.exp(float(loss))


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
    model.eval()
    device = next(model.parameters()).device
    ids = dataset.encode(tokenize(prompt))
    if not ids:
        raise ValueError("the prompt must hold at least one word")
    logits, state = model(torch.tensor([ids], device=device), None)   # (1, T, V)
    words = []
    for _ in range(length):
        probs = F.softmax(logits[0, -1] / temperature, dim=-1)          # p(w | prompt, ...) (V,)
        next_id = torch.multinomial(probs, 1)                           # sample, not argmax
        words.append(dataset.vocab[next_id.item()])
        logits, state = model(next_id.view(1, 1), state)                # (1, 1, V)
    return " ".join(words)


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
