"""Part 2: the word-level language model. Points are in assignment.toml."""


def test_dataset_vocabulary(checks, student, lm, reference_lm, passage):
    checks.lm.check_vocabulary(student, lm, reference_lm, passage)


def test_dataset_windows(checks, student, lm, reference_lm, passage):
    checks.lm.check_windows(student, lm, reference_lm, passage)


def test_perplexity(checks, student, lm):
    checks.lm.check_perplexity(student, lm)


def test_rnn_model(checks, student, lm, grading_seed):
    checks.lm.check_model(student, lm, "RNNModel", "rnn", grading_seed)


def test_gated_model(checks, student, lm, grading_seed):
    checks.lm.check_model(student, lm, "GatedModel", "lstm", grading_seed)
    checks.lm.check_model(student, lm, "GatedModel", "gru", grading_seed)


def test_evaluate(checks, student, lm, grading_seed):
    checks.lm.check_evaluate(student, lm, grading_seed)


def test_train_one_epoch(checks, student, lm, grading_seed, evidence):
    checks.lm.check_train_one_epoch(student, lm, grading_seed, evidence)


def test_generate(checks, student, lm, grading_seed, evidence):
    checks.lm.check_generate(student, lm, grading_seed, evidence)


def test_rnn_perplexity(checks, student, lm, corpus, settings, grading_seed, evidence):
    checks.lm.check_training(student, lm, "RNNModel", corpus, settings, grading_seed, evidence)


def test_gated_perplexity(checks, student, lm, corpus, settings, grading_seed, evidence):
    checks.lm.check_training(student, lm, "GatedModel", corpus, settings, grading_seed, evidence)
