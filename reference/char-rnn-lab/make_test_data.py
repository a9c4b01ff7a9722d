"""Write the expected lossFun values that the Task 2.1 public tests compare with.

Run once from anywhere (the output is committed; re-run only if the cases change):

    python reference/char-rnn-lab/make_test_data.py

It loads the definitions of this folder's task2_min_char_rnn.py the way the grader does
(harness.runtime.defonly: imports, functions and constants; the file reading and the
training loop left unrun), puts small fixed weights in as the module globals Wxh, Whh,
Why, bh, by and vocab_size, and stores, in float64, what lossFun(inputs, targets, hprev)
returns: the loss, the five gradients and the last hidden state hs[len(inputs)-1].
The public tests inject the same weights into the student's script, so they never
import this reference.

Cases (sizes all different, so a swapped dimension shows up as an error):
  zero_state     vocab 5, hidden 4, 6 characters, hprev = 0 (as at the start of the text)
  carried_state  vocab 7, hidden 3, 4 characters, hprev random (a state carried on from
                 the previous chunk), so h(t-1) must really be hs[t-1]
No gradient reaches the +-5 clipping, so a numerical gradient check is exact.
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)

from harness.runtime.defonly import load_definitions  # noqa: E402

SCRIPT = os.path.join(HERE, "task2_min_char_rnn.py")
DEFAULT_OUT = os.path.join(REPO, "student_template", "char-rnn-lab", "tests", "data",
                           "expected_min_char_rnn.json")

# name: (vocab_size V, hidden_size H, characters T, random hprev?, seed)
CASES = {
    "zero_state": (5, 4, 6, False, 1),
    "carried_state": (7, 3, 4, True, 2),
}
WEIGHTS = ("Wxh", "Whh", "Why", "bh", "by")
GRADIENTS = ("dWxh", "dWhh", "dWhy", "dbh", "dby")


def make_case(name):
    V, H, T, carried, seed = CASES[name]
    rng = np.random.default_rng(seed)
    weights = {
        "Wxh": rng.uniform(-1, 1, (H, V)),      # input to hidden
        "Whh": rng.uniform(-0.6, 0.6, (H, H)),  # hidden to hidden
        "Why": rng.uniform(-1, 1, (V, H)),      # hidden to output
        "bh": rng.uniform(-0.3, 0.3, (H, 1)),   # hidden bias
        "by": rng.uniform(-0.3, 0.3, (V, 1)),   # output bias
    }
    inputs = rng.integers(0, V, T).tolist()
    targets = rng.integers(0, V, T).tolist()
    hprev = rng.uniform(-0.9, 0.9, (H, 1)) if carried else np.zeros((H, 1))

    module, _ = load_definitions(SCRIPT, module_name="char_rnn_reference",
                                 inject={"vocab_size": V, **weights})
    loss, *grads, h_last = module.lossFun(inputs, targets, hprev)
    largest = max(float(np.abs(g).max()) for g in grads)
    assert largest < 5, f"{name}: a gradient reaches the clipping ({largest})"
    return {
        "case": name,
        "vocab_size": V,
        "hidden_size": H,
        **{key: value.tolist() for key, value in weights.items()},
        "inputs": inputs,
        "targets": targets,
        "hprev": hprev.tolist(),
        "loss": float(loss),
        "grads": {key: g.tolist() for key, g in zip(GRADIENTS, grads, strict=True)},
        "h_last": h_last.tolist(),
    }


def to_json(data):
    """JSON with one line per array, so that a diff shows which array changed."""
    def block(obj, indent):
        pad = " " * indent
        if isinstance(obj, dict) and any(isinstance(v, (dict, list)) for v in obj.values()):
            items = [f"{pad} {json.dumps(k)}: {block(v, indent + 1).lstrip()}"
                     for k, v in obj.items()]
            return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(obj, list) and obj and isinstance(obj[0], dict):
            return pad + "[\n" + ",\n".join(block(v, indent + 1) for v in obj) + "\n" + pad + "]"
        return pad + json.dumps(obj)
    return block(data, 0) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    data = {
        "about": "lossFun(inputs, targets, hprev) of task2_min_char_rnn.py for fixed weights "
                 "(module globals Wxh (H, V), Whh (H, H), Why (V, H), bh (H, 1), by (V, 1)), "
                 "computed in float64 by reference/char-rnn-lab/make_test_data.py.",
        "atol": 1e-8,
        "cases": [make_case(name) for name in CASES],
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(to_json(data))
    print(f"wrote {len(data['cases'])} cases to {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
