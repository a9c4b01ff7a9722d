"""Write the expected LSTM values that the public tests compare students' cells with.

Run once from anywhere (the output is committed; re-run only if the cases change):

    python reference/palindrome-lstm-gan/make_test_data.py

For each case it fixes the weights, an input batch and targets, runs this reference
LSTM in float64 and stores the logits p(T) and the gradients of the mean cross-entropy
loss with respect to every parameter. The public tests load the weights into the
student's parameters by name, so they never import this reference.

Cases (sizes chosen all different, so a swapped dimension shows up as an error):
  digits   x (B=3, T=5, D=1) digits 0..9 as scalars, the DataLoader's default layout; H=6, C=10
  one_hot  x (B=2, T=4, D=10) one-hot digits (--input_dim 10); H=5, C=10
  vectors  x (B=4, T=3, D=3) Gaussian vectors; H=7, C=4
"""

import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "part1"))

from lstm import LSTM  # noqa: E402

DEFAULT_OUT = os.path.join(HERE, "..", "..", "student_template", "palindrome-lstm-gan",
                           "tests", "data", "expected_lstm.json")

CASES = {
    # name: (B, T, D, H, C, input kind, input-weight scale)
    "digits": (3, 5, 1, 6, 10, "digits", 0.1),     # digits up to 9: small W_*x, tanh unsaturated
    "one_hot": (2, 4, 10, 5, 10, "one_hot", 0.5),
    "vectors": (4, 3, 3, 7, 4, "gauss", 0.5),
}


def uniform(gen, shape, scale):
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * scale


def make_case(case, seed):
    B, T, D, H, C, kind, wx_scale = CASES[case]
    gen = torch.Generator().manual_seed(seed)
    model = LSTM(T, D, H, C).double()

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

    if kind == "digits":
        x = torch.randint(0, 10, (B, T, 1), generator=gen).double()                # (B, T, 1)
    elif kind == "one_hot":
        x = F.one_hot(torch.randint(0, 10, (B, T), generator=gen), 10).double()    # (B, T, 10)
    else:
        x = torch.randn(B, T, D, generator=gen, dtype=torch.float64)               # (B, T, D)
    targets = torch.randint(0, C, (B,), generator=gen)

    logits = model(x)                                     # (B, C)
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    return {
        "case": case,
        "constructor": {"seq_length": T, "input_dim": D, "hidden_dim": H, "output_dim": C},
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

    cases = [make_case(case, seed=100 + j) for j, case in enumerate(CASES)]
    data = {
        "about": "Expected logits p(T) and gradients of the mean cross-entropy for fixed "
                 "weights, computed in float64 by reference/palindrome-lstm-gan/"
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
