"""Task 2.3: _charLSTM, criterion (line 43), hprev/cprev (lines 98-99). Points are in
assignment.toml."""


def test_interface(checks, student, lstm, text, settings, lstm_probe, evidence):
    checks.check_lstm_interface(student, lstm, text, settings, lstm_probe, evidence)


def test_criterion(checks, student, lstm, text):
    checks.check_criterion(student, lstm, text)


def test_forward_matches_reference(checks, student, lstm, lstm_probe, reference, text, evidence):
    checks.check_lstm_forward(student, lstm, lstm_probe, reference, text, evidence)


def test_training_reduces_loss(checks, student, lstm, lstm_probe, text, settings, evidence):
    checks.check_lstm_training(student, lstm, lstm_probe, text, settings, evidence)


def test_states_detached(checks, submission, evidence):
    checks.check_detached_states(submission, evidence)
