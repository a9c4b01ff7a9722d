"""Build LanguageModelling.ipynb from language_model.py, for the template and the reference.

    python reference/recurrent-layers-lm/make_notebook.py          # writes both notebooks

language_model.py is written in the "percent" format (``# %%`` starts a code cell,
``# %% [markdown]`` a markdown cell whose lines are comments), so the notebook's cells are
the module's cells, word for word, without the command-line ``main`` (its cell and the
markdown before it). After them come the notebook-only cells below: the experiments
(given code that calls the student's functions) and the Extra Questions, with empty
answer cells in the template and short model answers in the reference.
The project test checks that the committed notebooks are what this script writes.
"""

import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
FOLDERS = {
    "template": os.path.join(ROOT, "student_template", "recurrent-layers-lm"),
    "reference": HERE,
}

EXPERIMENTS = '''
# %% [markdown]
# ## 5. Experiments
#
# Train both models on Pride and Prejudice, each without and with gradient clipping, and
# compare their validation perplexities. **Target: a validation perplexity of at most 120**
# (125 for the other books). On Colab choose a GPU (Runtime -> Change runtime type); on a
# CPU one epoch takes 7-11 seconds with one thread. Report the best epoch: past it the
# models overfit and the validation perplexity rises again.
# Change the hyper-parameters if you need to, and say so in your answers.

# %%
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
SEQ_LENGTH = 20
BATCH_SIZE = 32
EPOCHS = 30
LR = 3e-3
CLIP = 0.25

# %%
train_set = Dataset(SEQ_LENGTH, None, train=True, device=device)
val_set = Dataset(SEQ_LENGTH, None, train=False, device=device)
print(f"{train_set.ntoken} words in the vocabulary, {len(train_set.data)} training and "
      f"{len(val_set.data)} validation tokens")

# %%
histories, models = {}, {}
for name, model_class in [("RNN", RNNModel), ("Gated", GatedModel)]:
    for clip in (None, CLIP):
        print(f"--- {name}, clip = {clip}")
        torch.manual_seed(0)
        model = model_class(train_set.ntoken, seq_length=SEQ_LENGTH, device=device)
        histories[name, clip] = train(model, train_set, val_set, epochs=EPOCHS,
                                      batch_size=BATCH_SIZE, lr=LR, clip=clip)
        models[name, clip] = model

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(7, 4))
for (name, clip), history in histories.items():
    epochs = range(1, len(history["val_perplexity"]) + 1)
    ax.plot(epochs, history["val_perplexity"], label=f"{name}, clip = {clip}")
ax.axhline(120, color="grey", linestyle=":", label="target 120")
ax.set_xlabel("epoch")
ax.set_ylabel("validation perplexity")
ax.set_yscale("log")
ax.set_title("Pride and Prejudice: validation perplexity")
ax.legend()
plt.show()
for (name, clip), history in histories.items():
    print(f"{name:6s} clip = {clip}: best validation perplexity "
          f"{min(history['val_perplexity']):.1f}")

# %%
for temperature in (0.5, 1.0, 1.5):
    torch.manual_seed(0)
    text = generate(models["Gated", CLIP], train_set, "it is a truth universally acknowledged",
                    40, temperature)
    print(f"temperature {temperature}: {text}\\n")
'''

QUESTIONS = [
    ("Q1 (5 points). Why is a vanilla RNN trained with backpropagation through time prone "
     "to exploding and vanishing gradients? What does gradient clipping do about it, and "
     "what do the gates of an LSTM or GRU do? Use your runs with and without clipping.",
     "The gradient reaching step t - k is a product of k Jacobians "
     "dh(s)/dh(s-1) = diag(tanh'(a(s))) W_h; its norm grows or shrinks roughly geometrically "
     "with k, depending on the largest singular value of W_h and on tanh'. Clipping rescales "
     "the whole gradient when its norm exceeds a threshold, which prevents the rare huge "
     "steps of exploding gradients (it keeps the direction) but does nothing against "
     "vanishing ones. The LSTM's additive cell update c(t) = f * c(t-1) + i * g gives a path "
     "whose Jacobian is diag(f), close to the identity while the forget gate is open, so "
     "gradients survive many steps; the GRU's h(t) = z * h(t-1) + (1 - z) * candidate does "
     "the same. In our runs (windows of 20 words, Adam, clipping at 0.25) clipping speeds "
     "up the first epochs (validation perplexity after 2 epochs 220 instead of 242 for the "
     "LSTM, 130 instead of 151 for the RNN) but the best perplexities differ by under 1%: Adam "
     "already normalises the step size, and 20 steps are too few for gradients to explode "
     "often."),
    ("Q2 (5 points). Compare the validation perplexities of RNNModel and GatedModel. Which "
     "is better and why? Would a perplexity on another tokenisation or vocabulary be "
     "comparable?",
     "With these sizes (64 units, windows of 20 words, every window from the zero state) "
     "both reach about the same best validation perplexity, 86-87: the vanilla RNN learns "
     "faster in the first epochs and starts to overfit sooner, the LSTM improves more "
     "slowly and for longer. Twenty words of context are short enough for a tanh RNN; the "
     "gates pay off on longer dependencies (longer windows, or a state carried from window "
     "to window) and with larger models, where they also make training more stable. "
     "Perplexities are only comparable for the same test text, tokenisation and "
     "vocabulary: mapping rare words to <unk>, splitting off punctuation (easy tokens) or a "
     "smaller vocabulary all lower the number."),
    ("Q3 (5 points). Generate text at temperatures 0.5, 1.0 and 1.5 and describe the "
     "differences. Why do we sample the next word instead of taking the most probable one?",
     "Dividing the logits by a temperature below 1 sharpens the distribution: the text is "
     "more grammatical but repetitive (frequent words and punctuation); above 1 it flattens "
     "it: more varied, rarer words, less coherent. Taking the argmax is the limit of "
     "temperature 0: deterministic, and it quickly loops on the most frequent phrases "
     "(\"of the , and the ...\"); sampling draws text from the distribution the model "
     "actually learnt."),
]


def percent_cells(source):
    """[(kind, text)] of a percent-format script: kind 'code' or 'markdown'."""
    cells, kind, lines = [], None, []

    def flush():
        text = "\n".join(lines).strip("\n")
        if kind is not None and text.strip():
            cells.append((kind, text))

    for line in source.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind == "markdown":
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def module_cells(path):
    """The module's cells without its command-line part (``def main``, ``__main__``)."""
    with open(path, encoding="utf-8") as f:
        cells = percent_cells(f.read())
    kept = []
    for kind, text in cells:
        if kind == "code" and ("def main(" in text or "__name__" in text):
            if kept and kept[-1][0] == "markdown":
                kept.pop()                  # the "Run this file ..." note before it
            continue
        kept.append((kind, text))
    return kept


def notebook(cells):
    def lines(text):
        parts = text.split("\n")
        return [p + "\n" for p in parts[:-1]] + [parts[-1]]

    nb_cells = []
    for i, (kind, text) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"cell-{i:02d}", "metadata": {}, "source": lines(text)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        nb_cells.append(cell)
    return {
        "cells": nb_cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def build(variant):
    folder = FOLDERS[variant]
    cells = module_cells(os.path.join(folder, "language_model.py"))
    cells += percent_cells(EXPERIMENTS)
    cells.append(("markdown", "## 6. Extra Questions (15 points)\n\n"
                              "Answer in the markdown cells below each question."))
    for question, answer in QUESTIONS:
        cells.append(("markdown", f"**{question}**"))
        cells.append(("markdown", answer if variant == "reference"
                      else "*Your answer here.*"))
    return notebook(cells)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out_dir", default=None,
                        help="write <variant>/LanguageModelling.ipynb here instead")
    args = parser.parse_args(argv)
    for variant, folder in FOLDERS.items():
        out = (os.path.join(args.out_dir, variant) if args.out_dir else folder)
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, "LanguageModelling.ipynb")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(build(variant), f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"wrote {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
