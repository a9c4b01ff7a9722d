"""Tests for GRULayer:

    update = sigma(a_z), reset = sigma(a_r), a = b + W_h h(t-1) + W_x x(t)
    h_candidate = tanh(bi + W_hi (reset * h(t-1)) + W_xi x(t))
    h(t) = update * h(t-1) + (1 - update) * h_candidate

Run from the blg561 folder with `python -m pytest tests/test_gru.py` (or `pytest` from the
assignment folder, or `python -m unittest discover -s tests`).
"""

import unittest

from layer_test_utils import (
    NUMERICAL_TOLERANCE,
    LayerTestCase,
    expected_case,
    numerical_gradients,
    random_case,
    set_weights,
)

from blg561.layer.recurrent_layers import GRULayer

WEIGHTS = ("Wx", "Wh", "b", "Wxi", "Whi", "bi")
STEP_GRADS = ("dx", "dprev_h", "dWx", "dWh", "db", "dWxi", "dWhi", "dbi")
GRAD_KEYS = ("dx", "dh0", "dWx", "dWh", "db", "dWxi", "dWhi", "dbi")
FORWARD_HINT = ("The first H columns of Wx, Wh, b are the update gate, the next H the reset "
                "gate; h(t) = update * h(t-1) + (1 - update) * h_candidate, exactly as the "
                "hand-out writes it.")


def shapes(N, D, H):
    return {"Wx": (D, 2 * H), "Wh": (H, 2 * H), "b": (2 * H,),
            "Wxi": (D, H), "Whi": (H, H), "bi": (H,)}


class TestGRULayer(LayerTestCase):

    def test_forward_step(self):
        a, outputs, grads = expected_case("GRULayer", "step")
        layer = GRULayer(a["Wx"].shape[0], a["Whi"].shape[0])
        set_weights(layer, a)
        out = self.unpack("GRULayer.forward_step", self.call(
            "GRULayer.forward_step", layer.forward_step, a["x"], a["prev_h"]),
            ("next_h", "cache"))
        self.assertClose("next_h", out["next_h"], outputs["next_h"], FORWARD_HINT)

    def test_forward(self):
        a, outputs, grads = expected_case("GRULayer", "sequence")
        layer = GRULayer(a["Wx"].shape[0], a["Whi"].shape[0])
        set_weights(layer, a)
        h = self.call("GRULayer.forward", layer.forward, a["x"], a["h0"])
        self.assertClose("h", h, outputs["h"],
                         "forward returns h(1..T) as (N, T, H), starting from h(0) = h0.")

    def test_backward_step(self):
        a, outputs, grads = expected_case("GRULayer", "step")
        layer = GRULayer(a["Wx"].shape[0], a["Whi"].shape[0])
        set_weights(layer, a)
        out = self.unpack("GRULayer.forward_step", self.call(
            "GRULayer.forward_step", layer.forward_step, a["x"], a["prev_h"]),
            ("next_h", "cache"))
        got = self.unpack("GRULayer.backward_step", self.call(
            "GRULayer.backward_step", layer.backward_step, a["dnext_h"], out["cache"]),
            STEP_GRADS)
        for name in STEP_GRADS:
            self.assertClose(f"backward_step's {name}", got[name], grads[name],
                             "h(t-1) reaches h(t) along three paths: directly (times "
                             "update), through the gates and through the candidate.")

    def test_backward_step_numerical(self):
        N, D, H = 4, 5, 6
        a = random_case(231, {"x": (N, D), "prev_h": (N, H), **shapes(N, D, H),
                              "dnext_h": (N, H)})
        layer = GRULayer(D, H)
        for name in WEIGHTS:
            setattr(layer, name, a[name])        # the same arrays: grad_check changes them
        out = self.unpack("GRULayer.forward_step", self.call(
            "GRULayer.forward_step", layer.forward_step, a["x"], a["prev_h"]),
            ("next_h", "cache"))
        got = self.unpack("GRULayer.backward_step", self.call(
            "GRULayer.backward_step", layer.backward_step, a["dnext_h"], out["cache"]),
            STEP_GRADS)

        numerical = numerical_gradients(lambda: layer.forward_step(a["x"], a["prev_h"])[0], a,
                                        ["x", "prev_h", *WEIGHTS], a["dnext_h"])
        for name, num in numerical.items():
            self.assertClose(f"backward_step's d{name}", got["d" + name], num,
                             "It differs from the numerical gradient.",
                             tolerance=NUMERICAL_TOLERANCE)

    def test_backward(self):
        a, outputs, grads = expected_case("GRULayer", "sequence")
        layer = GRULayer(a["Wx"].shape[0], a["Whi"].shape[0])
        set_weights(layer, a)
        self.call("GRULayer.forward", layer.forward, a["x"], a["h0"])
        # backward stores the gradients in self.grad; it may also return (dx, dh0).
        returned = self.call("GRULayer.backward", layer.backward, a["dh"])
        stored = self.grad_dict(layer, GRAD_KEYS)
        for name in GRAD_KEYS:
            self.assertClose(f"self.grad[{name!r}]", stored[name], grads[name],
                             "Did you add the gradient from step t+1 to dh[:, t], and sum the "
                             "weight gradients over all time steps?")
        if isinstance(returned, (tuple, list)) and len(returned) == 2:
            for name, value in zip(("dx", "dh0"), returned):
                self.assertClose(f"the {name} returned by backward", value, grads[name])

    def test_backward_numerical(self):
        N, T, D, H = 2, 4, 3, 5
        a = random_case(561, {"x": (N, T, D), "h0": (N, H), **shapes(N, D, H),
                              "dh": (N, T, H)})
        layer = GRULayer(D, H)
        for name in WEIGHTS:
            setattr(layer, name, a[name])
        self.call("GRULayer.forward", layer.forward, a["x"], a["h0"])
        self.call("GRULayer.backward", layer.backward, a["dh"])
        stored = self.grad_dict(layer, GRAD_KEYS)

        numerical = numerical_gradients(lambda: layer.forward(a["x"], a["h0"]), a,
                                        ["x", "h0", *WEIGHTS], a["dh"])
        for name, num in numerical.items():
            self.assertClose(f"self.grad['d{name}']", stored["d" + name], num,
                             "It differs from the numerical gradient.",
                             tolerance=NUMERICAL_TOLERANCE)


if __name__ == "__main__":
    unittest.main()
