"""Tests for RNNLayer: h(t) = tanh(b + W_h h(t-1) + W_x x(t)).

Run from the blg561 folder with `python -m pytest tests/test_rnn.py` (or `pytest` from the
assignment folder, or `python -m unittest discover -s tests`).
"""

import unittest

import numpy as np
from layer_test_utils import (
    NUMERICAL_TOLERANCE,
    LayerTestCase,
    expected_case,
    numerical_gradients,
    random_case,
    set_weights,
)

from blg561.layer.recurrent_layers import RNNLayer

STEP_GRADS = ("dx", "dprev_h", "dWx", "dWh", "db")
GRAD_KEYS = ("dx", "dh0", "dWx", "dWh", "db")


class TestRNNLayer(LayerTestCase):

    def test_forward_step(self):
        N, D, H = 3, 10, 4
        layer = RNNLayer(D, H)
        x = np.linspace(-0.4, 0.7, num=N * D).reshape(N, D)
        prev_h = np.linspace(-0.2, 0.5, num=N * H).reshape(N, H)
        layer.Wx = np.linspace(-0.1, 0.9, num=D * H).reshape(D, H)
        layer.Wh = np.linspace(-0.3, 0.7, num=H * H).reshape(H, H)
        layer.b = np.linspace(-0.2, 0.4, num=H)

        out = self.unpack("RNNLayer.forward_step", self.call(
            "RNNLayer.forward_step", layer.forward_step, x, prev_h), ("next_h", "cache"))
        expected_next_h = np.asarray([
            [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
            [0.66854692, 0.79562378, 0.87755553, 0.92795967],
            [0.97934501, 0.99144213, 0.99646691, 0.99854353]])
        self.assertClose("next_h", out["next_h"], expected_next_h,
                         "Check h(t) = tanh(b + prev_h @ Wh + x @ Wx).")

    def test_forward(self):
        N, T, D, H = 2, 3, 4, 5
        layer = RNNLayer(D, H)
        x = np.linspace(-0.1, 0.3, num=N * T * D).reshape(N, T, D)
        h0 = np.linspace(-0.3, 0.1, num=N * H).reshape(N, H)
        layer.Wx = np.linspace(-0.2, 0.4, num=D * H).reshape(D, H)
        layer.Wh = np.linspace(-0.4, 0.1, num=H * H).reshape(H, H)
        layer.b = np.linspace(-0.7, 0.1, num=H)

        h = self.call("RNNLayer.forward", layer.forward, x, h0)
        expected_h = np.asarray([
            [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
             [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
             [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
            [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
             [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
             [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]])
        self.assertClose("h", h, expected_h,
                         "forward returns h(1..T) as (N, T, H), starting from h(0) = h0.")

    def test_backward_step(self):
        a, outputs, grads = expected_case("RNNLayer", "step")
        layer = RNNLayer(a["Wx"].shape[0], a["Wh"].shape[0])
        set_weights(layer, a)
        _, cache = self.unpack("RNNLayer.forward_step", self.call(
            "RNNLayer.forward_step", layer.forward_step, a["x"], a["prev_h"]),
            ("next_h", "cache")).values()
        got = self.unpack("RNNLayer.backward_step", self.call(
            "RNNLayer.backward_step", layer.backward_step, a["dnext_h"], cache), STEP_GRADS)
        for name in STEP_GRADS:
            self.assertClose(f"backward_step's {name}", got[name], grads[name])

    def test_backward_step_numerical(self):
        N, D, H = 4, 5, 6
        a = random_case(231, {"x": (N, D), "prev_h": (N, H), "Wx": (D, H), "Wh": (H, H),
                              "b": (H,), "dnext_h": (N, H)})
        layer = RNNLayer(D, H)
        layer.Wx, layer.Wh, layer.b = a["Wx"], a["Wh"], a["b"]   # the same arrays: grad_check
        _, cache = self.unpack("RNNLayer.forward_step", self.call(  # changes them in place
            "RNNLayer.forward_step", layer.forward_step, a["x"], a["prev_h"]),
            ("next_h", "cache")).values()
        got = self.unpack("RNNLayer.backward_step", self.call(
            "RNNLayer.backward_step", layer.backward_step, a["dnext_h"], cache), STEP_GRADS)

        def next_h():
            return layer.forward_step(a["x"], a["prev_h"])[0]

        numerical = numerical_gradients(next_h, a, ["x", "prev_h", "Wx", "Wh", "b"],
                                        a["dnext_h"])
        for name, num in numerical.items():
            self.assertClose(f"backward_step's d{name}", got["d" + name], num,
                             "It differs from the numerical gradient.",
                             tolerance=NUMERICAL_TOLERANCE)

    def test_backward(self):
        a, outputs, grads = expected_case("RNNLayer", "sequence")
        layer = RNNLayer(a["Wx"].shape[0], a["Wh"].shape[0])
        set_weights(layer, a)
        self.call("RNNLayer.forward", layer.forward, a["x"], a["h0"])
        # backward stores the gradients in self.grad; it may also return (dx, dh0).
        returned = self.call("RNNLayer.backward", layer.backward, a["dh"])
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
        a = random_case(561, {"x": (N, T, D), "h0": (N, H), "Wx": (D, H), "Wh": (H, H),
                              "b": (H,), "dh": (N, T, H)})
        layer = RNNLayer(D, H)
        layer.Wx, layer.Wh, layer.b = a["Wx"], a["Wh"], a["b"]
        self.call("RNNLayer.forward", layer.forward, a["x"], a["h0"])
        self.call("RNNLayer.backward", layer.backward, a["dh"])
        stored = self.grad_dict(layer, GRAD_KEYS)

        def h():
            return layer.forward(a["x"], a["h0"])

        numerical = numerical_gradients(h, a, ["x", "h0", "Wx", "Wh", "b"], a["dh"])
        for name, num in numerical.items():
            self.assertClose(f"self.grad['d{name}']", stored["d" + name], num,
                             "It differs from the numerical gradient.",
                             tolerance=NUMERICAL_TOLERANCE)


if __name__ == "__main__":
    unittest.main()
