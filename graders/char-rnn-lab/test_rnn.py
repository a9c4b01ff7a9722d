"""Task 2.1: line 41 of task2_min_char_rnn.py. Points are in assignment.toml."""


def test_file_loads(checks, student, rnn, text, settings):
    checks.check_rnn_loads(student, rnn, text, settings)


def test_hidden_state(checks, student, rnn, rnn_reference, text, settings, evidence):
    checks.check_hidden_state(student, rnn, rnn_reference, text, settings, evidence)


def test_gradients(checks, student, rnn, rnn_reference, text, settings):
    checks.check_rnn_gradients(student, rnn, rnn_reference, text, settings)


def test_sample(checks, student, rnn, text, settings):
    checks.check_sample(student, rnn, text, settings)


def test_training_reduces_loss(checks, student, rnn, rnn_reference, text, settings, evidence):
    checks.check_rnn_training(student, rnn, rnn_reference, text, settings, evidence)
