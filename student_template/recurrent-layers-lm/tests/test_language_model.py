"""Public tests of Part 2 (language_model.py or LanguageModelling.ipynb; see lm_support.py).

They check the conventions the docstrings fix (vocabulary order, window layout, shapes of
logits and states, what evaluate and generate return), that the perplexity is exp of the
mean cross-entropy, that gradient clipping happens before the optimiser step, and that a
few epochs on a tiny corpus reduce the loss. They use small corpora written on the fly,
not the book, and take a few seconds.
"""

import math

import pytest
import torch
from lm_support import (
    BigramModel,
    FakeVocabulary,
    call,
    fail,
    get,
    make_dataset,
    toy_corpus,
    write_corpus,
)

SMALL = dict(embed_size=8, hidden_size=12, hidden_layers=2, seq_length=7, dropout=0.0,
             device="cpu")
MODELS = ["RNNModel", "GatedModel"]


def make_model(name, ntoken, **kwargs):
    options = {**SMALL, **kwargs}
    return call(f"{name}.__init__", get(name), ntoken, **options)


def forward(model, x, state=None):
    out = call(f"{type(model).__name__}.forward", model, x, state)
    if not (isinstance(out, tuple) and len(out) == 2):
        fail(f"{type(model).__name__}.forward must return a tuple (logits, state) "
             f"(got {type(out).__name__})")
    return out


def state_tensors(state):
    return list(state) if isinstance(state, (tuple, list)) else [state]


# --------------------------------------------------------------------------- Dataset

# 15 tokens: the cat , the dog and the bird . a cat and a dog !
SMALL_TEXT = "The cat, the dog and the bird. A cat and a dog!\n"


def test_dataset_vocabulary(tmp_path):
    path = write_corpus(tmp_path, SMALL_TEXT)
    train = make_dataset(path, 4, train=True, train_split=0.8)
    # training part: the first int(15 * 0.8) = 12 tokens
    #   the cat , the dog and the bird . a cat and  ->  the 3, cat 2, and 2, others 1
    assert list(train.vocab) == ["<unk>", "the", "and", "cat"], (
        "Dataset.vocab must be ['<unk>'] followed by the words seen at least min_count=2 "
        "times in the training part, most frequent first, ties in alphabetical order: "
        f"expected ['<unk>', 'the', 'and', 'cat'], got {list(train.vocab)!r}")
    assert dict(train.word2idx) == {"<unk>": 0, "the": 1, "and": 2, "cat": 3}, (
        f"Dataset.word2idx must map each word of vocab to its index (got {train.word2idx!r})")
    everything = make_dataset(path, 4, train=True, train_split=0.8, min_count=1)
    assert list(everything.vocab) == ["<unk>", "the", "and", "cat", ",", ".", "a", "bird",
                                      "dog"], (
        f"with min_count=1 every training word is in the vocabulary (got "
        f"{list(everything.vocab)!r})")


def test_dataset_ids_and_split(tmp_path):
    path = write_corpus(tmp_path, SMALL_TEXT)
    train = make_dataset(path, 4, train=True, train_split=0.8)
    val = make_dataset(path, 4, train=False, train_split=0.8)
    data = torch.as_tensor(train.data)
    assert data.dtype == torch.int64, f"Dataset.data must hold int64 ids (got {data.dtype})"
    assert data.tolist() == [1, 3, 0, 1, 0, 2, 1, 0, 0, 0, 3, 2], (
        "Dataset.data (training part) must be the ids of the first 12 tokens, unknown words "
        f"as <unk> = 0: expected [1, 3, 0, 1, 0, 2, 1, 0, 0, 0, 3, 2], got {data.tolist()}")
    assert list(val.vocab) == list(train.vocab), (
        "the validation set must use the vocabulary of the training part (build it from "
        f"tokens[:n_train] in both): got {list(val.vocab)!r}")
    assert torch.as_tensor(val.data).tolist() == [0, 0, 0], (
        "Dataset.data of the validation part must be the ids of the last 3 tokens "
        f"(a dog !, all <unk>): got {torch.as_tensor(val.data).tolist()}")


def test_dataset_windows(tmp_path):
    path = write_corpus(tmp_path, SMALL_TEXT)
    train = make_dataset(path, 4, train=True, train_split=0.8)
    n = call("len(Dataset)", len, train)
    assert n == 2, f"len(Dataset) must be (12 - 1) // 4 = 2 windows (got {n})"
    x0, y0 = call("Dataset.__getitem__", train.__getitem__, 0)
    x1, y1 = call("Dataset.__getitem__", train.__getitem__, 1)
    for name, value in (("x", x0), ("y", y0)):
        assert isinstance(value, torch.Tensor) and value.dtype == torch.int64, (
            f"Dataset[i] must return (x, y) as int64 tensors ({name} is "
            f"{getattr(value, 'dtype', type(value).__name__)})")
        assert tuple(value.shape) == (4,), (
            f"{name} must have shape (seq_length,) = (4,) (got {tuple(value.shape)})")
    expected = {"x0": [1, 3, 0, 1], "y0": [3, 0, 1, 0], "x1": [0, 2, 1, 0], "y1": [2, 1, 0, 0]}
    got = {"x0": x0.tolist(), "y0": y0.tolist(), "x1": x1.tolist(), "y1": y1.tolist()}
    assert got == expected, (
        "Dataset[i] must be x = data[i*T : i*T + T] and y = data[i*T + 1 : i*T + T + 1]: "
        f"expected {expected}, got {got}")


# --------------------------------------------------------------------------- models

@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("model_name", MODELS)
def test_forward_shapes(model_name, batch):
    torch.manual_seed(0)
    V, T, L, H = 50, 7, 2, 12
    model = make_model(model_name, V)
    model.eval()
    x = torch.randint(0, V, (batch, T))
    logits, state = forward(model, x, None)
    assert isinstance(logits, torch.Tensor) and tuple(logits.shape) == (batch, T, V), (
        f"{model_name}.forward must return logits of shape (B, T, ntoken) = {(batch, T, V)} "
        f"for x of shape {(batch, T)} (got {getattr(logits, 'shape', type(logits).__name__)})")
    tensors = state_tensors(state)
    for s in tensors:
        assert isinstance(s, torch.Tensor) and tuple(s.shape) == (L, batch, H), (
            f"{model_name}.forward must return the state as (L, B, H) = {(L, batch, H)} "
            "tensors (a tuple (h, c) for an LSTM), as nn.RNN / nn.LSTM with batch_first=True "
            f"give it (got {[tuple(getattr(s, 'shape', ())) for s in tensors]})")
    if model_name == "RNNModel":
        assert isinstance(state, torch.Tensor), (
            "RNNModel's state must be one tensor (L, B, H)")


@pytest.mark.parametrize("model_name", MODELS)
def test_state_carries_over(model_name):
    torch.manual_seed(0)
    V, T = 50, 7
    model = make_model(model_name, V)
    model.eval()
    x = torch.randint(0, V, (3, 2 * T))
    with torch.no_grad():
        whole, _ = forward(model, x, None)
        first, state = forward(model, x[:, :T], None)
        second, _ = forward(model, x[:, T:], state)
        from_zeros, _ = forward(model, x[:, T:], None)
        from_init, _ = forward(model, x, model.init_state(3))
    error = (torch.cat([first, second], dim=1) - whole).abs().max().item()
    assert error < 1e-5, (
        f"{model_name}: running the two halves of a sequence, the second from the state the "
        f"first returned, must give the logits of the whole sequence (max difference "
        f"{error:.2e}). Pass `state` to the recurrent layer and return its new state.")
    assert (from_zeros - second).abs().max().item() > 1e-6, (
        f"{model_name}.forward ignores the state it is given")
    assert (from_init - whole).abs().max().item() < 1e-5, (
        f"{model_name}: forward(x, None) and forward(x, model.init_state(B)) must agree "
        "(None means the zero state)")


@pytest.mark.parametrize("model_name", MODELS)
def test_default_sizes(model_name):
    model = call(f"{model_name}.__init__", get(model_name), 30)
    model.eval()
    logits, state = forward(model, torch.zeros(2, 5, dtype=torch.int64), None)
    shapes = [tuple(s.shape) for s in state_tensors(state)]
    assert tuple(logits.shape) == (2, 5, 30) and all(s == (2, 2, 64) for s in shapes), (
        f"{model_name}(ntoken) must default to embed_size=64, hidden_size=64, "
        f"hidden_layers=2 (got logits {tuple(logits.shape)}, state {shapes})")


# --------------------------------------------------------------------------- loss

def test_perplexity():
    perplexity = get("perplexity")
    for loss, expected in ((0.0, 1.0), (math.log(120.0), 120.0), (torch.tensor(2.0),
                                                                   math.exp(2.0))):
        value = call("perplexity", perplexity, loss)
        try:
            value = float(value)
        except (TypeError, ValueError):
            fail(f"perplexity must return a number (got {type(value).__name__})")
        assert abs(value - expected) <= 1e-6 * expected, (
            f"perplexity({float(loss):.4f}) must be exp(loss) = {expected:.4f} (got {value}): "
            "perplexity is the exponential of the mean cross-entropy (in nats)")


def test_evaluate_is_the_mean_cross_entropy_per_token(tmp_path):
    torch.manual_seed(0)
    path = write_corpus(tmp_path, toy_corpus(60))
    dataset = make_dataset(path, 5, train=True)
    model = make_model("GatedModel", dataset.ntoken, dropout=0.5)
    criterion = torch.nn.CrossEntropyLoss()
    evaluate = get("evaluate")
    first = call("evaluate", evaluate, model, dataset, criterion, 4)
    second = call("evaluate", evaluate, model, dataset, criterion, 7)

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(len(dataset)):
            x, y = dataset[i]
            logits, _ = model(x.unsqueeze(0), None)
            total += torch.nn.functional.cross_entropy(logits[0], y, reduction="sum").item()
            count += y.numel()
    expected = total / count
    for batch_size, value in ((4, first), (7, second)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            fail(f"evaluate must return the mean loss as a number (got {type(value).__name__})")
        assert abs(value - expected) < 1e-4, (
            f"evaluate(batch_size={batch_size}) returned {value:.5f}, expected the mean "
            f"cross-entropy per predicted token {expected:.5f} ({len(dataset)} windows). "
            "Use model.eval() (no dropout), start every batch from state None, and weigh "
            "every token once (the last batch is smaller).")


# --------------------------------------------------------------------------- training

@pytest.mark.parametrize("model_name", MODELS)
def test_training_reduces_the_loss(model_name, tmp_path):
    torch.manual_seed(0)
    path = write_corpus(tmp_path, toy_corpus(400))
    dataset = make_dataset(path, 10, train=True)
    model = make_model(model_name, dataset.ntoken, embed_size=16, hidden_size=32,
                       hidden_layers=1, seq_length=10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    criterion = torch.nn.CrossEntropyLoss()
    train_one_epoch, evaluate = get("train_one_epoch"), get("evaluate")
    before = float(call("evaluate", evaluate, model, dataset, criterion, 32))
    losses = [call("train_one_epoch", train_one_epoch, model, dataset, optimizer, criterion, 16)
              for _ in range(3)]
    after = float(call("evaluate", evaluate, model, dataset, criterion, 32))
    try:
        losses = [float(loss) for loss in losses]
    except (TypeError, ValueError):
        fail("train_one_epoch must return the mean training loss as a number "
             f"(got {type(losses[0]).__name__})")
    assert all(math.isfinite(loss) and loss > 0 for loss in losses), (
        f"train_one_epoch returned {losses}: expected positive mean losses")
    assert losses[-1] < losses[0], (
        f"the training loss did not decrease over 3 epochs: {losses}")
    # the grammar's next word is 1 of about 5: the loss falls from log(V) ~ 3.3 to about 1.2
    assert after < before - 1.0, (
        f"{model_name}: 3 epochs of Adam (lr 1e-2) on a tiny corpus reduced the mean loss only "
        f"from {before:.2f} to {after:.2f}; the reference reaches about 1.2. Check that "
        "train_one_epoch calls optimizer.zero_grad(), loss.backward() and optimizer.step() for "
        "every batch, and that the targets are the next words.")


class RecordingSGD(torch.optim.SGD):
    """SGD that records the global gradient norm every time step() is called."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.norms = []

    def step(self, closure=None):
        grads = [p.grad for group in self.param_groups for p in group["params"]
                 if p.grad is not None]
        self.norms.append(torch.norm(torch.stack([g.norm() for g in grads])).item()
                          if grads else 0.0)
        return super().step(closure)


def test_gradient_clipping_happens_before_the_step(tmp_path):
    torch.manual_seed(0)
    path = write_corpus(tmp_path, toy_corpus(40))
    dataset = make_dataset(path, 10, train=True)
    train_one_epoch = get("train_one_epoch")
    criterion = torch.nn.CrossEntropyLoss()
    norms = {}
    for clip in (None, 0.05):
        torch.manual_seed(0)
        model = make_model("RNNModel", dataset.ntoken, embed_size=16, hidden_size=32,
                           hidden_layers=1)
        optimizer = RecordingSGD(model.parameters(), lr=0.1)
        call("train_one_epoch", train_one_epoch, model, dataset, optimizer, criterion, 8,
             clip=clip)
        norms[clip] = optimizer.norms
    assert norms[None] and max(norms[None]) > 0.05, (
        "without clipping the gradients reaching optimizer.step() should be larger than "
        f"0.05 in this test (norms {norms[None][:5]}): are the gradients computed?")
    assert max(norms[0.05]) <= 0.05 * (1 + 1e-4), (
        "with clip=0.05 the global gradient norm must be at most 0.05 when optimizer.step() "
        f"runs (got up to {max(norms[0.05]):.3f}): call torch.nn.utils.clip_grad_norm_("
        "model.parameters(), clip) after loss.backward() and before optimizer.step()")


# --------------------------------------------------------------------------- generation

def successor(k, step, V):
    """Word ids 1..V-1 form a cycle; <unk> (0) is followed by 1 and 2."""
    return 1 + (k - 1 + step) % (V - 1) if k else step


def bigram_table(V, bias=0.0):
    """After word k the next word is successor(k, 1) or successor(k, 2); the first gets the
    logit ``bias``, the second 0, every other word -30."""
    table = torch.full((V, V), -30.0)
    for k in range(V):
        table[k, successor(k, 1, V)] = bias
        table[k, successor(k, 2, V)] = 0.0
    return table


def test_generate_samples_from_the_model():
    V = 12
    vocab = FakeVocabulary(V)
    model = BigramModel(bigram_table(V))
    generate = get("generate")
    torch.manual_seed(0)
    text = call("generate", generate, model, vocab, "w3", 200)
    if not isinstance(text, str):
        fail(f"generate must return a string of words (got {type(text).__name__})")
    words = text.split()
    assert len(words) == 200, (
        f"generate(..., length=200) must return 200 words separated by spaces, without the "
        f"prompt (got {len(words)})")
    previous, jumps = "w3", []
    for word in words:
        if word not in vocab.word2idx:
            fail(f"generate returned {word!r}, not a word of the vocabulary")
        jump = (vocab.word2idx[word] - vocab.word2idx[previous]) % (V - 1)
        jumps.append(jump)
        previous = word
    assert set(jumps) <= {1, 2}, (
        "generate must feed every sampled word back into the model with the state and "
        "continue from the prompt's last word: with this test model each word is followed by "
        f"the next or the one after it (steps seen: {sorted(set(jumps))})")
    share = jumps.count(1) / len(jumps)
    assert 0.35 < share < 0.65, (
        f"the model gives the next two words probability 1/2 each, but generate chose the "
        f"first {share:.0%} of the time: sample with torch.multinomial(softmax(logits / "
        "temperature), 1), do not take the argmax")
    assert any(state is not None for state in model.seen_states), (
        "generate must pass the state returned by the model back into it")


def test_generate_temperature_and_seed():
    V = 12
    vocab = FakeVocabulary(V)
    model = BigramModel(bigram_table(V, bias=0.2))   # first successor: p = 0.55 at T = 1
    generate = get("generate")
    samples = {}
    for seed in (0, 1):
        torch.manual_seed(seed)
        samples[seed, 1.0] = call("generate", generate, model, vocab, "w1", 30, 1.0)
        torch.manual_seed(seed)
        samples[seed, 0.01] = call("generate", generate, model, vocab, "w1", 30, 0.01)
    torch.manual_seed(0)
    again = call("generate", generate, model, vocab, "w1", 30, 1.0)
    assert again == samples[0, 1.0], (
        "generate must draw from torch's random generator only: the same seed must give the "
        "same text")
    assert samples[0, 1.0] != samples[1, 1.0], (
        "different seeds gave the same text at temperature 1: generate must sample")
    assert samples[0, 0.01] == samples[1, 0.01], (
        "at temperature 0.01 the most likely word must (almost surely) win whatever the seed: "
        "divide the logits by the temperature before the softmax")


@pytest.mark.parametrize("model_name", MODELS)
def test_generate_with_a_real_model(model_name, tmp_path):
    torch.manual_seed(0)
    path = write_corpus(tmp_path, toy_corpus(60))
    dataset = make_dataset(path, 10, train=True)
    model = make_model(model_name, dataset.ntoken)
    generate = get("generate")
    texts = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        texts.append(call("generate", generate, model, dataset, "the cat sees", 25))
    for text in texts:
        words = text.split() if isinstance(text, str) else []
        assert len(words) == 25 and all(w in dataset.word2idx for w in words), (
            f"generate(..., length=25) must return 25 words of the vocabulary joined by "
            f"spaces (got {text!r})")
    assert texts[0] != texts[1], "generate gave the same text for two seeds: it must sample"
