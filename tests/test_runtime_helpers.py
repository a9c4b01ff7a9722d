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


# -- how the student's own script is run: imports, output folders, sweeps -------------------

DATA = """
import torch

def batches(n):
    g = torch.Generator().manual_seed(0)
    for _ in range(n):
        x = torch.randn(8, 3, generator=g)
        yield x, x.sum(dim=1, keepdim=True)
"""

TRAIN_BODY = """
import argparse
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=5)
args = parser.parse_args()
model = torch.nn.Parameter(torch.zeros(3, 1))
optimiser = torch.optim.RMSprop([model], lr=0.05)
for x, y in batches(args.steps):
    loss = torch.nn.functional.mse_loss(x @ model, y)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
"""


def test_a_script_with_relative_imports_runs_as_a_module_of_its_package(bwrap, make_session):
    train = "from .data import batches\n" + TRAIN_BODY
    files = {"part1/__init__.py": "", "part1/data.py": DATA, "part1/train.py": train}
    s = make_session(bwrap, files, call_timeout=60)
    result = s.op("run_script_spied", "part1/train.py", ["--steps", "9"], want="value")
    assert "error" not in result, result.get("error")
    assert result["command"] == "python -m part1.train"
    assert (result["exit_code"], result["steps"], len(result["losses"])) == (0, 9, 9)


def test_a_script_with_plain_sibling_imports_runs_from_its_own_folder(bwrap, make_session):
    train = (
        "from data import batches\n"
        + TRAIN_BODY
        + "open('trained.txt', 'w').write(str(model.tolist()))\n"
    )
    s = make_session(bwrap, {"part1/data.py": DATA, "part1/train.py": train}, call_timeout=60)
    result = s.op("run_script_spied", "part1/train.py", ["--steps", "4"], want="value")
    assert result["command"] == "cd part1 && python train.py"
    assert (result["exit_code"], result["steps"]) == (0, 4)
    # Its relative paths are part1's, and the grader's own working directory is back after.
    assert "part1/trained.txt" in s.op("list_files")
    assert s.op("run_script", "part1/data.py")["exit_code"] == 0


OUTPUTS = """
import os
import numpy as np
import torch

open(os.path.join("logs", "train.csv"), "w").write("step,loss\\n")   # a folder never made
torch.save({"w": torch.zeros(2)}, "checkpoints/model.pt")              # written from C++
np.save("results/curves/acc.npy", np.zeros(3))                       # two levels missing
fd = os.open("raw/bytes.bin", os.O_WRONLY | os.O_CREAT)
os.close(fd)
os.makedirs("plots", exist_ok=True)                                   # made by the script
open("plots/a.txt", "w").close()
os.chdir("/tmp")                                                      # and it moves away
w = torch.nn.Parameter(torch.tensor([2.0]))
optimiser = torch.optim.RMSprop([w], lr=0.1)
loss = torch.nn.functional.mse_loss(w, torch.zeros(1))
loss.backward()
optimiser.step()
"""


def test_missing_output_folders_are_made_where_the_script_writes(bwrap, make_session):
    files = {"part1/train.py": OUTPUTS, "model.py": "VALUE = 3\n"}
    s = make_session(bwrap, files, call_timeout=60)
    result = s.op("run_script_spied", "part1/train.py", [], want="value")
    assert "error" not in result, result.get("error")
    assert result["exit_code"] == 0 and result["steps"] == 1
    assert result["folders_made"] == ["logs/", "checkpoints/", "results/curves/", "raw/"]
    written = s.op("list_files")
    for name in ("logs/train.csv", "checkpoints/model.pt", "results/curves/acc.npy"):
        assert name in written
    assert s.load("model.py").VALUE == 3  # the script's chdir did not move the grader


def test_reads_and_writes_outside_the_submission_still_fail_as_they_would(bwrap, make_session):
    reads = "open('inputs/data.csv').read()\n"
    outside = "open('/opt/elsewhere/out.txt', 'w')\n"
    s = make_session(bwrap, {"reads.py": reads, "outside.py": outside}, call_timeout=60)
    for script, error in (("reads.py", "FileNotFoundError"), ("outside.py", "")):
        result = s.op("run_script_spied", script, [], want="value")
        assert result["exit_code"] == 1 and result["folders_made"] == []
        assert error in result["error"]["type"]
    assert "inputs" not in {name.split("/")[0] for name in s.op("list_files")}


SWEEP = """
import torch

def run(length, steps):
    model = torch.nn.Linear(1, 1)
    optimiser = torch.optim.RMSprop(model.parameters(), lr=0.05)
    criterion = torch.nn.MSELoss()
    x = torch.full((4, 1), float(length))
    for _ in range(steps):
        loss = criterion(model(x), torch.zeros(4, 1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

if __name__ == "__main__":
    # A sweep that ignores the command line, with the guard students put around a run.
    for length in range(5, 31):
        try:
            run(length, 10_000_000)
        except Exception as exc:
            print("run failed", exc)
    raise RuntimeError("the grader should never get here")
"""


def test_a_sweep_that_ignores_the_command_line_is_stopped_after_max_steps(bwrap, make_session):
    s = make_session(bwrap, {"sweep.py": SWEEP, "train.py": SCRIPT}, call_timeout=60)
    result = s.op("run_script_spied", "sweep.py", ["--steps", "10"], 40, want="value")
    assert "error" not in result, result.get("error")
    assert result["stopped"] is True and result["exit_code"] == 0
    assert result["steps"] == 40 and len(result["losses"]) == 40
    assert result["models"] == ["Linear"]  # the model of the run it is judged on
    assert result["losses"][-1] < result["losses"][0]
    # The same process goes on, and a script that ends by itself is not stopped.
    honest = s.op("run_script_spied", "train.py", ["--steps", "12"], 40, want="value")
    assert (honest["stopped"], honest["steps"], honest["exit_code"]) == (False, 12, 0)
