"""Runtime helpers inside a real sandbox: the CPU shim and the training-script spy."""

import pytest

pytestmark = pytest.mark.sandbox

MODEL = """
import torch
device = torch.device("cuda:0")

def make():
    m = torch.nn.Module().cuda()
    x = torch.zeros(2, 3, device="cuda").cuda().to(device)
    return str(x.device)
"""

SCRIPT = """
import argparse
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=5)
args = parser.parse_args()
w = torch.nn.Parameter(torch.tensor([3.0]))
optimiser = torch.optim.RMSprop([w], lr=0.1)
loss_fn = torch.nn.MSELoss()
for _ in range(args.steps):
    loss = loss_fn(w, torch.zeros(1))
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
"""


def test_cuda_requests_run_on_the_cpu_and_the_spy_sees_the_training(bwrap, make_session):
    s = make_session(bwrap, {"model.py": MODEL, "train.py": SCRIPT}, call_timeout=60)
    s.on_start.append(("cpu_only", ()))
    assert s.load("model.py").make() == "cpu"
    assert "cuda:0" in s.op("cuda_requests")
    result = s.op("run_script_spied", "train.py", ["--steps", "12"], want="value")
    assert result["exit_code"] == 0
    assert result["optimisers"] == ["RMSprop"]
    assert len(result["losses"]) == 12
    assert result["losses"][-1] < result["losses"][0]
    bad = s.op("run_script_spied", "train.py", ["--no-such-option"], want="value")
    assert bad["exit_code"] == 2


@pytest.mark.parametrize(
    "call",
    [
        "loss_fn(w, torch.zeros(1))",
        "loss_fn.forward(w, torch.zeros(1))",
        "torch.nn.functional.mse_loss(w, torch.zeros(1))",
    ],
    ids=["module call", "forward called directly", "functional"],
)
def test_the_spy_counts_each_loss_once_however_it_is_called(bwrap, make_session, call):
    script = SCRIPT.replace("loss = loss_fn(w, torch.zeros(1))", f"loss = {call}")
    s = make_session(bwrap, {"train.py": script}, call_timeout=60)
    result = s.op("run_script_spied", "train.py", ["--steps", "7"], want="value")
    assert result["exit_code"] == 0
    assert len(result["losses"]) == 7
    assert result["losses"][-1] < result["losses"][0]
