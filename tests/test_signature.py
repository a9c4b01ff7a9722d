"""Calling student code with the arguments its own signature asks for."""

import pytest
from conftest import require

from harness.checks.context import CheckFailed
from harness.checks.signature import MISSING, Parameter, arguments, parameters

SKELETON = {"dataloader": "L", "discriminator": "D", "generator": "G", "optimizer_G": "oG"}


def P(name, kind="POSITIONAL_OR_KEYWORD", default=False):
    return Parameter(name, kind, default)


def fill(name):
    return {"device": "cpu", "latent_dim": 100}.get(name, MISSING)


def test_the_skeletons_signature_is_filled_in_order():
    params = [P(n) for n in SKELETON]
    assert arguments(params, given=SKELETON, fill=fill, what="train") == (["L", "D", "G", "oG"], {})


def test_extra_parameters_are_filled_by_name_and_renamed_ones_by_place():
    params = [P("loader"), P("netD"), P("netG"), P("optimizer_G"), P("device")]
    assert arguments(params, given=SKELETON, fill=fill, what="train") == (
        ["L", "D", "G", "oG", "cpu"],
        {},
    )


def test_after_a_default_the_rest_go_by_name():
    params = [P("dataloader"), P("epochs", default=True), P("device"), P("k", "KEYWORD_ONLY")]
    filled = {"device": "cpu", "k": 3}
    got = arguments(
        params, given={"dataloader": "L"}, fill=lambda n: filled.get(n, MISSING), what="f"
    )
    assert got == (["L"], {"device": "cpu", "k": 3})


def test_a_required_parameter_nothing_fills_is_named():
    with pytest.raises(CheckFailed, match="Generator.* needs an argument 'hidden_units'"):
        arguments([P("hidden_units")], given={}, fill=fill, what="Generator(...)")


def test_an_unreadable_signature_falls_back_to_the_skeleton():
    assert arguments(None, given=SKELETON, fill=fill, what="train") == (["L", "D", "G", "oG"], {})


@pytest.mark.sandbox
def test_the_signature_is_read_in_the_student_process(make_session):
    code = (
        "class Generator:\n"
        "    def __init__(self, latent_dim, device='cpu', *rest, scale, **kw):\n"
        "        pass\n"
    )
    session = make_session(require("bwrap"), {"m.py": code})
    mod = session.load("m.py")
    assert parameters(session, mod.Generator) == [
        Parameter("latent_dim", "POSITIONAL_OR_KEYWORD", False),
        Parameter("device", "POSITIONAL_OR_KEYWORD", True),
        Parameter("rest", "VAR_POSITIONAL", False),
        Parameter("scale", "KEYWORD_ONLY", False),
        Parameter("kw", "VAR_KEYWORD", False),
    ]


@pytest.mark.sandbox
@pytest.mark.parametrize(
    "forged",
    [
        "class _P:\n    name = 5\n    kind = inspect.Parameter.POSITIONAL_ONLY\n    default = 1\n"
        "class _S:\n    parameters = {'x': _P()}\n"
        "inspect.signature = lambda obj: _S()\n",
        "def _boom(obj):\n    raise RuntimeError('no')\ninspect.signature = _boom\n",
    ],
    ids=["a name that is not a string", "an exception"],
)
def test_a_forged_signature_is_not_believed(make_session, forged):
    code = "import inspect\n" + forged + "def train(a, b):\n    pass\n"
    session = make_session(require("bwrap"), {"m.py": code})
    assert parameters(session, session.load("m.py").train) is None
