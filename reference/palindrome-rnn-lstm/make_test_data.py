"""Write the expected cell values that the public tests compare students' cells with.

Run once from anywhere (the output is committed; re-run only if the cases change):

    python reference/palindrome-rnn-lstm/make_test_data.py

For each model (VanillaRNN, LSTM) and each case it fixes the weights, an input
batch and targets, runs this reference in float64 and stores the logits p(T) and
the gradients of the mean cross-entropy loss with respect to every parameter.
The public tests load the weights into the student's parameters by name, so they
never import this reference.

Cases (sizes chosen all different, so a swapped dimension shows up as an error):
  digits   x (B=3, T=5) float digits 0..9, as the DataLoader gives them; D=1, H=6, C=10
  vectors  x (B=2, T=3, D=3) Gaussian vectors; H=5, C=4
The constructor's batch_size is 128 in both, to check that forward takes any B.
"""

import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from part1.lstm import LSTM  # noqa: E402
from part1.vanilla_rnn import VanillaRNN  # noqa: E402

DEFAULT_OUT = os.path.join(HERE, "..", "..", "student_template", "palindrome-rnn-lstm",
                           "tests", "data", "expected_cells.json")

CASES = {
    # name: (B, T, D, H, C, input scale, input-weight scale)
    "digits": (3, 5, 1, 6, 10, None, 0.1),   # digits up to 9: small W_*x keeps tanh unsaturated
    "vectors": (2, 3, 3, 5, 4, 1.0, 0.5),
}
CONSTRUCTOR_BATCH_SIZE = 128


def uniform(gen, shape, scale):
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * scale


def make_case(model_class, case, seed):
    B, T, D, H, C, x_scale, wx_scale = CASES[case]
    gen = torch.Generator().manual_seed(seed)
    model = model_class(T, D, H, C, CONSTRUCTOR_BATCH_SIZE).double()

    params = {}
    for name, p in model.named_parameters():
        if name.startswith("b_"):
            scale = 0.5                                   # biases
        elif name == "W_ph":
            scale = 1.0                                   # output weights
        elif name.endswith("x"):
            scale = wx_scale                              # input weights W_*x
        else:
            scale = 0.5                                   # recurrent weights W_*h
        params[name] = uniform(gen, p.shape, scale)
        with torch.no_grad():
            p.copy_(params[name])

    if x_scale is None:
        x = torch.randint(0, 10, (B, T), generator=gen).double()      # (B, T) digits
    else:
        x = torch.randn(B, T, D, generator=gen, dtype=torch.float64) * x_scale  # (B, T, D)
    targets = torch.randint(0, C, (B,), generator=gen)

    logits = model(x)                                     # (B, C)
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    return {
        "model": model_class.__name__,
        "case": case,
        "constructor": {"seq_length": T, "input_dim": D, "num_hidden": H, "num_classes": C,
                        "batch_size": CONSTRUCTOR_BATCH_SIZE},
        "params": {name: value.tolist() for name, value in params.items()},
        "x": x.tolist(),
        "targets": targets.tolist(),
        "logits": logits.tolist(),
        "loss": loss.item(),
        "grads": {name: p.grad.tolist() for name, p in model.named_parameters()},
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

    cases = [make_case(model_class, case, seed=1000 * i + j)
             for i, model_class in enumerate((VanillaRNN, LSTM))
             for j, case in enumerate(CASES)]
    data = {
        "about": "Expected logits p(T) and gradients of the mean cross-entropy for fixed "
                 "weights, computed in float64 by reference/palindrome-rnn-lstm/"
                 "make_test_data.py. Parameter shapes: W (rows, cols), b (rows,).",
        "atol": 1e-5,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(to_json(data))
    print(f"wrote {len(cases)} cases to {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
