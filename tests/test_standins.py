"""Logging services and notebook environments the sandbox lacks get inert stand-ins; harmless
libraries (tqdm) are installed; nothing that computes is ever faked."""

import pytest
from conftest import BACKENDS, require

from harness.runtime.standins import STANDINS

STUDENT = """
import numpy as np
from tqdm import tqdm
from torch.utils.tensorboard import SummaryWriter
import tensorboardX
from pycrayon import CrayonClient
import wandb
from google.colab import drive

drive.mount("/content/drive")
writer = SummaryWriter("runs/palindrome")
wandb.init(project="a3", config={"lr": 1e-3})
experiment = CrayonClient(hostname="localhost").create_experiment("lstm")


def train(steps):
    total = 0.0
    for step in tqdm(range(steps)):
        total += step
        writer.add_scalar("loss", total, step)
        experiment.add_scalar_value("loss", total)
        wandb.log({"loss": total})
    writer.close()
    return total
"""


@pytest.mark.sandbox
@pytest.mark.parametrize("name", BACKENDS)
def test_logging_services_are_inert_and_said_tqdm_is_real(make_session, name):
    session = make_session(require(name), {"train.py": STUDENT})
    info = session.load_info("train.py")
    # tqdm iterates for real: the loop computes what it should.
    assert session.fetch(info["module"].train(5)) == 10.0
    note = "\n".join(session.notes)
    for what in ("torch.utils.tensorboard", "tensorboardX", "pycrayon", "wandb", "google.colab"):
        assert what in note, note
    assert "tqdm" not in note
    assert "nothing they would compute is faked" in note
    files = session.op("list_files", ".")
    assert not [f for f in files if f.startswith("runs")], "a stand-in wrote a log"


@pytest.mark.sandbox
def test_a_library_that_computes_is_not_faked(make_session):
    session = make_session(require("bwrap"), {"m.py": "import nltk\n"})
    with pytest.raises(Exception, match="No module named 'nltk'"):
        session.load("m.py")


def test_only_recording_services_have_stand_ins():
    assert set(STANDINS) == {
        "tensorboardX",
        "torch.utils.tensorboard",
        "tensorboard",
        "pycrayon",
        "wandb",
        "google.colab",
    }
