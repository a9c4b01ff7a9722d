"""Part I: the LSTM from scratch (Eq. 1-7, skeleton C). Points are in assignment.toml."""

KIND = "lstm"


def test_file_imports(checks, student, model_class, part):
    checks.check_file(student, model_class, part)


def test_no_forbidden_api(checks, request, forbidden_uses, settings, evidence):
    checks.check_forbidden(request, forbidden_uses, settings, evidence)


def test_interface(checks, student, probe, part, settings, evidence):
    checks.check_interface(student, probe, part, settings, evidence)


def test_matches_equations(checks, probe, comparison, forbidden_uses, settings, evidence):
    checks.not_done_by_forbidden_api(forbidden_uses, settings, "cell")
    checks.check_equations(probe, comparison, settings, evidence)


def test_gradients_match(checks, gradient_problems, forbidden_uses, part, settings):
    checks.not_done_by_forbidden_api(forbidden_uses, settings, "gradient")
    checks.check_gradients(gradient_problems, part)


def test_train_script(checks, student, part, settings, evidence):
    checks.check_script(student, part, settings, evidence)


def test_learns_short_palindromes(checks, trainer, settings):
    checks.check_training(trainer, length=settings["short_length"], steps=settings["short_steps"])
