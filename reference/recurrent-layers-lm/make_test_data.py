"""Write the expected layer values that the public tests of Part 1 compare with.

Run once from anywhere (the output is committed; re-run only if the cases change):

    python reference/recurrent-layers-lm/make_test_data.py

Every input of a case is an ``np.linspace(lo, hi, num=size).reshape(shape)``, stored as
``[lo, hi, shape]`` (the course's tests set weights this way), so the public tests build
the same arrays without importing this reference. For each layer it stores:

  step      forward_step's next state(s) and backward_step's gradients
  sequence  forward's hidden states h (N, T, H) and backward's gradients (self.grad)

The RNN and LSTM cases use the inputs of the classic CS231n tests, whose forward values
the public tests also hold as literals; the GRU cases and all the gradients come from
this reference (float64).
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "blg561"))

from blg561.layer.recurrent_layers import GRULayer, LSTMLayer, RNNLayer  # noqa: E402

DEFAULT_OUT = os.path.join(HERE, "..", "..", "student_template", "recurrent-layers-lm",
                           "blg561", "tests", "data", "expected_layers.json")

# name -> (layer class, step case, sequence case); a case maps each input to (lo, hi, shape)
CASES = {
    "RNNLayer": (RNNLayer, {
        "x": (-0.4, 0.7, (3, 10)), "prev_h": (-0.2, 0.5, (3, 4)),
        "Wx": (-0.1, 0.9, (10, 4)), "Wh": (-0.3, 0.7, (4, 4)), "b": (-0.2, 0.4, (4,)),
        "dnext_h": (-0.5, 0.9, (3, 4)),
    }, {
        "x": (-0.1, 0.3, (2, 3, 4)), "h0": (-0.3, 0.1, (2, 5)),
        "Wx": (-0.2, 0.4, (4, 5)), "Wh": (-0.4, 0.1, (5, 5)), "b": (-0.7, 0.1, (5,)),
        "dh": (-0.6, 0.8, (2, 3, 5)),
    }),
    "LSTMLayer": (LSTMLayer, {
        "x": (-0.4, 1.2, (3, 4)), "prev_h": (-0.3, 0.7, (3, 5)), "prev_c": (-0.4, 0.9, (3, 5)),
        "Wx": (-2.1, 1.3, (4, 20)), "Wh": (-0.7, 2.2, (5, 20)), "b": (0.3, 0.7, (20,)),
        "dnext_h": (-0.5, 0.9, (3, 5)), "dnext_c": (0.4, -0.6, (3, 5)),
    }, {
        "x": (-0.4, 0.6, (2, 3, 5)), "h0": (-0.4, 0.8, (2, 4)),
        "Wx": (-0.2, 0.9, (5, 16)), "Wh": (-0.3, 0.6, (4, 16)), "b": (0.2, 0.7, (16,)),
        "dh": (-0.6, 0.8, (2, 3, 4)),
    }),
    "GRULayer": (GRULayer, {
        "x": (-0.4, 1.2, (3, 4)), "prev_h": (-0.3, 0.7, (3, 5)),
        "Wx": (-1.1, 1.3, (4, 10)), "Wh": (-0.7, 0.9, (5, 10)), "b": (0.3, -0.2, (10,)),
        "Wxi": (-0.5, 0.8, (4, 5)), "Whi": (-0.6, 0.4, (5, 5)), "bi": (-0.1, 0.2, (5,)),
        "dnext_h": (-0.5, 0.9, (3, 5)),
    }, {
        "x": (-0.4, 0.6, (2, 3, 5)), "h0": (-0.4, 0.8, (2, 4)),
        "Wx": (-0.2, 0.9, (5, 8)), "Wh": (-0.3, 0.6, (4, 8)), "b": (0.2, -0.7, (8,)),
        "Wxi": (-0.8, 0.5, (5, 4)), "Whi": (0.5, -0.4, (4, 4)), "bi": (-0.3, 0.1, (4,)),
        "dh": (-0.6, 0.8, (2, 3, 4)),
    }),
}

STEP_GRADS = {
    "RNNLayer": ("dx", "dprev_h", "dWx", "dWh", "db"),
    "LSTMLayer": ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"),
    "GRULayer": ("dx", "dprev_h", "dWx", "dWh", "db", "dWxi", "dWhi", "dbi"),
}


def build(spec):
    """The arrays of a case: np.linspace(lo, hi, num=size).reshape(shape)."""
    return {name: np.linspace(lo, hi, num=int(np.prod(shape))).reshape(shape)
            for name, (lo, hi, shape) in spec.items()}


def make_layer(cls, arrays):
    D, H = arrays["Wx"].shape[0], arrays["Wh"].shape[0]
    layer = cls(D, H)
    for name in cls.param_names:
        setattr(layer, name, arrays[name].copy())
    return layer


def step_case(name, cls, spec):
    a = build(spec)
    layer = make_layer(cls, a)
    if name == "LSTMLayer":
        next_h, next_c, cache = layer.forward_step(a["x"], a["prev_h"], a["prev_c"])
        outputs = {"next_h": next_h, "next_c": next_c}
        grads = layer.backward_step(a["dnext_h"], a["dnext_c"], cache)
    else:
        next_h, cache = layer.forward_step(a["x"], a["prev_h"])
        outputs = {"next_h": next_h}
        grads = layer.backward_step(a["dnext_h"], cache)
    return outputs, dict(zip(STEP_GRADS[name], grads, strict=True))


def sequence_case(cls, spec):
    a = build(spec)
    layer = make_layer(cls, a)
    h = layer.forward(a["x"], a["h0"])
    layer.backward(a["dh"])
    return {"h": h}, dict(layer.grad)


def listed(arrays):
    return {k: np.asarray(v).tolist() for k, v in arrays.items()}


def to_json(obj, indent=0):
    """JSON with one line per array, so that a diff shows which array changed."""
    if isinstance(obj, dict):
        pad = " " * (indent + 1)
        items = [f"{pad}{json.dumps(k)}: {to_json(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}" + ("\n" if not indent else "")
    return json.dumps(obj)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    layers = {}
    for name, (cls, step_spec, sequence_spec) in CASES.items():
        step_out, step_grads = step_case(name, cls, step_spec)
        seq_out, seq_grads = sequence_case(cls, sequence_spec)
        layers[name] = {
            "step": {"inputs": {k: [lo, hi, list(shape)] for k, (lo, hi, shape)
                                in step_spec.items()},
                     "outputs": listed(step_out), "grads": listed(step_grads)},
            "sequence": {"inputs": {k: [lo, hi, list(shape)] for k, (lo, hi, shape)
                                    in sequence_spec.items()},
                         "outputs": listed(seq_out), "grads": listed(seq_grads)},
        }
    data = {
        "about": "Expected forward values and gradients of the numpy recurrent layers for "
                 "inputs np.linspace(lo, hi, num=size).reshape(shape) given as [lo, hi, shape]; "
                 "computed in float64 by reference/recurrent-layers-lm/make_test_data.py.",
        "rel_error": 1e-6,
        "layers": layers,
    }
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(to_json(data))
    print(f"wrote {os.path.relpath(out)}")


if __name__ == "__main__":
    main()
