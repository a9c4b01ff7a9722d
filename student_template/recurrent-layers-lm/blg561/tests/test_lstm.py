"""Tests for LSTMLayer (gates i, f, o, g; c(t) = f * c(t-1) + i * g; h(t) = o * tanh(c(t))).

Run from the blg561 folder with `python -m pytest tests/test_lstm.py` (or `pytest` from the
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

from blg561.layer.recurrent_layers import LSTMLayer

STEP_GRADS = ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")
GRAD_KEYS = ("dx", "dh0", "dWx", "dWh", "db")
GATE_HINT = ("The columns of Wx, Wh and b hold the gates in the order i, f, o, g, each H "
             "wide; i, f, o use the sigmoid and g the tanh.")


class TestLSTMLayer(LayerTestCase):

    def test_forward_step(self):
        N, D, H = 3, 4, 5
        layer = LSTMLayer(D, H)
        x = np.linspace(-0.4, 1.2, num=N * D).reshape(N, D)
        prev_h = np.linspace(-0.3, 0.7, num=N * H).reshape(N, H)
        prev_c = np.linspace(-0.4, 0.9, num=N * H).reshape(N, H)
        layer.Wx = np.linspace(-2.1, 1.3, num=4 * D * H).reshape(D, 4 * H)
        layer.Wh = np.linspace(-0.7, 2.2, num=4 * H * H).reshape(H, 4 * H)
        layer.b = np.linspace(0.3, 0.7, num=4 * H)

        out = self.unpack("LSTMLayer.forward_step", self.call(
            "LSTMLayer.forward_step", layer.forward_step, x, prev_h, prev_c),
            ("next_h", "next_c", "cache"))
        expected_next_h = np.asarray([
            [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
            [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
            [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]])
        expected_next_c = np.asarray([
            [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
            [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
            [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]])
        self.assertClose("next_c", out["next_c"], expected_next_c, GATE_HINT)
        self.assertClose("next_h", out["next_h"], expected_next_h,
                         "next_c is right: check h(t) = o * tanh(c(t)).")

    def test_forward(self):
        N, D, H, T = 2, 5, 4, 3
        layer = LSTMLayer(D, H)
        x = np.linspace(-0.4, 0.6, num=N * T * D).reshape(N, T, D)
        h0 = np.linspace(-0.4, 0.8, num=N * H).reshape(N, H)
        layer.Wx = np.linspace(-0.2, 0.9, num=4 * D * H).reshape(D, 4 * H)
        layer.Wh = np.linspace(-0.3, 0.6, num=4 * H * H).reshape(H, 4 * H)
        layer.b = np.linspace(0.2, 0.7, num=4 * H)

        h = self.call("LSTMLayer.forward", layer.forward, x, h0)
        expected_h = np.asarray([
            [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
             [0.11287491, 0.12146228, 0.13018446, 0.13902939],
             [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
            [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
             [0.6704845, 0.69350089, 0.71486014, 0.7346449],
             [0.81733511, 0.83677871, 0.85403753, 0.86935314]]])
        self.assertClose("h", h, expected_h,
                         "forward returns h(1..T) as (N, T, H), from h(0) = h0 and c(0) = 0.")

    def test_backward_step(self):
        a, outputs, grads = expected_case("LSTMLayer", "step")
        layer = LSTMLayer(a["Wx"].shape[0], a["Wh"].shape[0])
        set_weights(layer, a)
        out = self.unpack("LSTMLayer.forward_step", self.call(
            "LSTMLayer.forward_step", layer.forward_step, a["x"], a["prev_h"], a["prev_c"]),
            ("next_h", "next_c", "cache"))
        got = self.unpack("LSTMLayer.backward_step", self.call(
            "LSTMLayer.backward_step", layer.backward_step, a["dnext_h"], a["dnext_c"],
            out["cache"]), STEP_GRADS)
        for name in STEP_GRADS:
            self.assertClose(f"backward_step's {name}", got[name], grads[name])

    def test_backward_step_numerical(self):
        N, D, H = 4, 5, 6
        a = random_case(231, {"x": (N, D), "prev_h": (N, H), "prev_c": (N, H),
                              "Wx": (D, 4 * H), "Wh": (H, 4 * H), "b": (4 * H,),
                              "dnext_h": (N, H), "dnext_c": (N, H)})
        layer = LSTMLayer(D, H)
        layer.Wx, layer.Wh, layer.b = a["Wx"], a["Wh"], a["b"]   # the same arrays: grad_check
        out = self.unpack("LSTMLayer.forward_step", self.call(     # changes them in place
            "LSTMLayer.forward_step", layer.forward_step, a["x"], a["prev_h"], a["prev_c"]),
            ("next_h", "next_c", "cache"))
        got = self.unpack("LSTMLayer.backward_step", self.call(
            "LSTMLayer.backward_step", layer.backward_step, a["dnext_h"], a["dnext_c"],
            out["cache"]), STEP_GRADS)

        names = ["x", "prev_h", "prev_c", "Wx", "Wh", "b"]
        through_h = numerical_gradients(
            lambda: layer.forward_step(a["x"], a["prev_h"], a["prev_c"])[0], a, names,
            a["dnext_h"])
        through_c = numerical_gradients(
            lambda: layer.forward_step(a["x"], a["prev_h"], a["prev_c"])[1], a, names,
            a["dnext_c"])
        for name in names:
            self.assertClose(f"backward_step's d{name}", got["d" + name],
                             through_h[name] + through_c[name],
                             "It differs from the numerical gradient.",
                             tolerance=NUMERICAL_TOLERANCE)

    def test_backward(self):
        a, outputs, grads = expected_case("LSTMLayer", "sequence")
        layer = LSTMLayer(a["Wx"].shape[0], a["Wh"].shape[0])
        set_weights(layer, a)
        self.call("LSTMLayer.forward", layer.forward, a["x"], a["h0"])
        # backward stores the gradients in self.grad; it may also return (dx, dh0).
        returned = self.call("LSTMLayer.backward", layer.backward, a["dh"])
        stored = self.grad_dict(layer, GRAD_KEYS)
        for name in GRAD_KEYS:
            self.assertClose(f"self.grad[{name!r}]", stored[name], grads[name],
                             "Did you carry both dL/dh and dL/dc from step t+1 back to step "
                             "t, and sum the weight gradients over all time steps?")
        if isinstance(returned, (tuple, list)) and len(returned) == 2:
            for name, value in zip(("dx", "dh0"), returned):
                self.assertClose(f"the {name} returned by backward", value, grads[name])

    def test_backward_numerical(self):
        N, T, D, H = 2, 4, 3, 5
        a = random_case(561, {"x": (N, T, D), "h0": (N, H), "Wx": (D, 4 * H),
                              "Wh": (H, 4 * H), "b": (4 * H,), "dh": (N, T, H)})
        layer = LSTMLayer(D, H)
        layer.Wx, layer.Wh, layer.b = a["Wx"], a["Wh"], a["b"]
        self.call("LSTMLayer.forward", layer.forward, a["x"], a["h0"])
        self.call("LSTMLayer.backward", layer.backward, a["dh"])
        stored = self.grad_dict(layer, GRAD_KEYS)

        numerical = numerical_gradients(lambda: layer.forward(a["x"], a["h0"]), a,
                                        ["x", "h0", "Wx", "Wh", "b"], a["dh"])
        for name, num in numerical.items():
            self.assertClose(f"self.grad['d{name}']", stored["d" + name], num,
                             "It differs from the numerical gradient.",
                             tolerance=NUMERICAL_TOLERANCE)


if __name__ == "__main__":
    unittest.main()
