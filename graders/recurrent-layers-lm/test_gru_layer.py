"""Part 1: GRU layer (numpy). Points are in assignment.toml."""

LAYER = "gru"


def test_forward_step(checks, layer_grading):
    checks.layers.check_forward_step(layer_grading)


def test_forward(checks, layer_grading):
    checks.layers.check_forward(layer_grading)


def test_backward_step(checks, layer_grading):
    checks.layers.check_backward_step(layer_grading)


def test_backward(checks, layer_grading):
    checks.layers.check_backward(layer_grading)


def test_gradient_check(checks, layer_grading):
    checks.layers.check_gradient_check(layer_grading)
