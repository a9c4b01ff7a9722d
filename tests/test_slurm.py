"""The Slurm executor against a real single-node Slurm cluster (scripts/slurm-local.sh).

Every submission is graded by a real job of a real slurmctld/slurmd on this machine, in
the real bubblewrap sandbox; the results must equal the local executor's on the same ZIPs.
Where no Slurm can be had these tests skip, saying why; under CI they fail instead.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import require

from harness import api
from harness.errors import UsageError
from harness.executors import SlurmOptions
from harness.executors.job import job_gpus
from harness.executors.ledger import Ledger
from harness.executors.slurm import check_gpus, parse_sbatch_args, parse_time

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "slurm-local.sh"
TINY_LSTM = ROOT / "tests" / "hostile" / "assignments" / "graders" / "tiny-lstm"



def on_cluster(test):
    """Marks a test that grades real submissions through real Slurm jobs."""
    return pytest.mark.slurm(pytest.mark.sandbox(pytest.mark.slow(test)))


# -- the cluster ------------------------------------------------------------------------


def _why_no_slurm() -> str | None:
    if os.environ.get("SLURM_CONF") and shutil.which("sinfo"):
        return None
    if not shutil.which("slurmctld") or not shutil.which("munged"):
        return "no Slurm here: apt-get install slurm-wlm munge, or run scripts/slurm-local.sh start"
    if os.geteuid() != 0:
        return "starting the local Slurm cluster needs root (scripts/slurm-local.sh start)"
    return None


@pytest.fixture(scope="session")
def cluster():
    """A Slurm cluster that answers: the one SLURM_CONF names, else scripts/slurm-local.sh's
    (started here when it is not up, and stopped at the end if this fixture started it)."""
    reason = _why_no_slurm()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the Slurm tests must run under CI: {reason}")
        pytest.skip(reason)
    started = False
    if not os.environ.get("SLURM_CONF"):
        done = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        started = "answers already" not in done.stdout
        env = subprocess.run(["bash", str(SCRIPT), "env"], capture_output=True, text=True)
        os.environ["SLURM_CONF"] = env.stdout.strip().split("=", 1)[1]
    answer = subprocess.run(["sinfo", "-h", "-o", "%P %T"], capture_output=True, text=True)
    assert answer.returncode == 0, answer.stderr
    yield answer.stdout
    if started:
        subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True)


@pytest.fixture
def bwrap_sandbox():
    return require("bwrap")


def normalised(path: Path) -> dict:
    """A results.json without what may differ between two gradings of one ZIP: times,
    the sandbox's wording, the hashes of the run's options, and how a stopped call
    spent its time (CPU time or waiting: machine load decides which comes first)."""
    data = json.loads(path.read_text())
    data.pop("execution_time", None)
    harness = data["extra_data"]["harness"]
    for key in ("timings", "sandbox", "versions", "input_hash"):
        harness.pop(key, None)
    for test in data["tests"]:
        for key in ("duration", "cpu"):
            test.get("extra_data", {}).pop(key, None)
        test["output"] = re.sub(r"(did not finish within \d+ s[^:]*): .*", r"\1",
                                test["output"])
    return data


def copy_examples(assignment: str, dest: Path, names: list[str] | None = None) -> Path:
    dest.mkdir(parents=True)
    for zip_path in sorted((ROOT / "submissions" / assignment).glob("*.zip")):
        if names is None or any(zip_path.name.startswith(n + "_") for n in names):
            shutil.copy(zip_path, dest / zip_path.name)
    return dest


# -- slurm and local agree -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("assignment", "names"),
    [
        ("tiny-rnn", None),  # all twelve: crashes, hangs, floods, bad ZIPs, a misnamed one
        ("char-rnn-lab", ["correct", "nll-criterion", "swapped-weights"]),
    ],
)
@pytest.mark.timeout(1800)
@on_cluster
def test_slurm_results_equal_local_results(cluster, bwrap_sandbox, tmp_path, assignment, names):
    folder = copy_examples(assignment, tmp_path / "subs", names)
    local = api.grade(submissions=folder, assignment=assignment, out=tmp_path / "local",
                      jobs=1, sandbox="bwrap")
    on_slurm = api.grade(submissions=folder, assignment=assignment, out=tmp_path / "slurm",
                         sandbox="bwrap", executor="slurm",
                         slurm=SlurmOptions(max_parallel=2, poll=0.5))
    assert on_slurm.executor.startswith("slurm")
    assert not on_slurm.unfinished and not on_slurm.interrupted
    assert sorted(on_slurm.graded_now) == sorted(local.graded_now)
    assert len(local.results) == len(list(folder.glob("*.zip")))
    for result in local.results:
        ours = tmp_path / "slurm" / result.student_id / "results.json"
        theirs = tmp_path / "local" / result.student_id / "results.json"
        assert normalised(ours) == normalised(theirs), result.student_id
    # Nothing a job wrote was read back as a pickle: the harness read JSON only, and the
    # jobs' logs say what they graded.
    logs = "".join(p.read_text() for p in (tmp_path / "slurm" / ".slurm").rglob("*_log.out"))
    assert "Job completed successfully" in logs
    # A rerun finds every result current and submits nothing.
    again = api.grade(submissions=folder, assignment=assignment, out=tmp_path / "slurm",
                      sandbox="bwrap", executor="slurm", slurm=SlurmOptions(poll=0.5))
    assert again.graded_now == ()
    assert len(list((tmp_path / "slurm" / ".slurm").glob("2*"))) == 1  # one batch folder


# -- faults a cluster has ------------------------------------------------------------------


def grade_command(folder: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / "harness" / "grade.py"), str(folder), "-a", "tiny-rnn",
            "--out", str(out), "--sandbox", "bwrap", "--executor", "slurm", *extra]


def wait_for(predicate, what: str, timeout: float = 300.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.2)


def job_of(out: Path, student_id: str) -> str:
    return Ledger(out).load().get(student_id, {}).get("job", "")


def started(out: Path, student_id: str) -> bool:
    return any((out / ".slurm").glob(f"*/started/{student_id}"))


@pytest.mark.timeout(900)
@on_cluster
def test_a_cancelled_job_is_graded_by_the_rerun(cluster, bwrap_sandbox, tmp_path):
    folder = copy_examples("tiny-rnn", tmp_path / "subs", ["correct", "hangs-in-step"])
    out = tmp_path / "out"
    run = subprocess.Popen(grade_command(folder, out), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    wait_for(lambda: started(out, "hangs-in-step"), "hangs-in-step's job starting")
    killed = job_of(out, "hangs-in-step")
    subprocess.run(["scancel", killed], check=True)
    output = run.communicate(timeout=300)[0]
    flat = " ".join(output.split())
    assert run.returncode == 1, output
    assert f"not graded this run: hangs-in-step: its Slurm job {killed} was cancelled" in flat
    assert not (out / "hangs-in-step" / "results.json").exists()
    assert json.loads((out / "correct" / "results.json").read_text())["score"] == 10

    batch = api.grade(submissions=folder, assignment="tiny-rnn", out=out, sandbox="bwrap",
                      executor="slurm", slurm=SlurmOptions(poll=0.5))
    assert batch.graded_now == ("hangs-in-step",)
    assert batch.skipped == ("correct",)
    assert job_of(out, "hangs-in-step") != killed
    result = json.loads((out / "hangs-in-step" / "results.json").read_text())
    assert result["extra_data"]["harness"]["status"] == "timeout"  # its own verdict, graded


@pytest.mark.timeout(900)
@on_cluster
def test_a_rerun_follows_jobs_still_queued_and_submits_nothing_twice(
    cluster, bwrap_sandbox, tmp_path
):
    folder = copy_examples("tiny-rnn", tmp_path / "subs",
                           ["correct", "wrong-activation", "crash-at-import"])
    out = tmp_path / "out"
    # One job at a time: when the first starts, the other two still wait in the queue.
    run = subprocess.Popen(grade_command(folder, out, "--max-parallel", "1"),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    wait_for(lambda: any((out / ".slurm").glob("*/started/*")), "a job starting")
    jobs = {sid: job_of(out, sid) for sid in ("correct", "wrong-activation", "crash-at-import")}
    assert all(jobs.values()), jobs
    run.send_signal(signal.SIGINT)  # Ctrl-C without a terminal: the jobs are left running
    output = " ".join(run.communicate(timeout=120)[0].split())
    assert run.returncode == 130, output
    assert "left" in output and "queued or running" in output

    batch = api.grade(submissions=folder, assignment="tiny-rnn", out=out, sandbox="bwrap",
                      executor="slurm", slurm=SlurmOptions(poll=0.5))
    assert not batch.unfinished
    assert {sid: job_of(out, sid) for sid in jobs} == jobs  # followed, not submitted again
    assert len(list((out / ".slurm").glob("2*"))) == 1
    assert any("followed" in note for note in batch.notes) or batch.skipped
    scores = {r.student_id: r.score for r in batch.results}
    assert scores == {"correct": 10, "wrong-activation": 3, "crash-at-import": 0}


@pytest.mark.timeout(900)
@on_cluster
def test_a_job_over_its_time_gives_a_timeout_verdict(cluster, bwrap_sandbox, tmp_path):
    # lstm.py sleeps at import: the harness would wait 120 s for it (call_timeout 30 s,
    # four times that in wall-clock time), but the job has one minute.
    folder = tmp_path / "subs"
    folder.mkdir()
    with zipfile.ZipFile(folder / "sleeper_lstm.zip", "w") as zf:
        zf.writestr("lstm.py", "import time\ntime.sleep(3600)\n")
    out = tmp_path / "out"
    batch = api.grade(submissions=folder, assignment=str(TINY_LSTM), out=out, sandbox="bwrap",
                      executor="slurm", slurm=SlurmOptions(time="1", poll=0.5))
    assert not batch.unfinished
    (result,) = batch.results
    assert result.status == "timeout" and result.score == 0
    assert "slurm_time_limit" in result.flags
    assert "time limit of its cluster job (0:01:00, --time)" in result.output


# -- refused before anything is submitted -------------------------------------------------


def _no_jobs_submitted(out: Path) -> bool:
    return not (out / ".slurm").exists()


@pytest.mark.slurm
def test_an_unknown_partition_is_refused_before_submitting(cluster, tmp_path):
    folder = copy_examples("tiny-rnn", tmp_path / "subs", ["correct"])
    with pytest.raises(UsageError, match=r"--partition nope: no such partition \(partitions here: debug\*"):
        api.grade(submissions=folder, assignment="tiny-rnn", out=tmp_path / "out",
                  sandbox="bwrap", executor="slurm", slurm=SlurmOptions(partition="nope"))
    assert _no_jobs_submitted(tmp_path / "out")


@pytest.mark.slurm
def test_options_slurm_would_refuse_are_refused_before_submitting(cluster, tmp_path):
    folder = copy_examples("tiny-rnn", tmp_path / "subs", ["correct"])
    with pytest.raises(UsageError, match="sbatch refuses these job options: .*node configuration"):
        api.grade(submissions=folder, assignment="tiny-rnn", out=tmp_path / "out",
                  sandbox="bwrap", executor="slurm", slurm=SlurmOptions(mem="100000G"))
    assert _no_jobs_submitted(tmp_path / "out")


def test_a_missing_sbatch_is_refused_with_the_reason(tmp_path, monkeypatch):
    folder = copy_examples("tiny-rnn", tmp_path / "subs", ["correct"])
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without Slurm's commands
    with pytest.raises(UsageError, match="sbatch, srun, .* not found on this machine"):
        api.grade(submissions=folder, assignment="tiny-rnn", out=tmp_path / "out",
                  sandbox="local", executor="slurm")
    assert _no_jobs_submitted(tmp_path / "out")


def test_slurm_options_need_the_slurm_executor(tmp_path):
    folder = copy_examples("tiny-rnn", tmp_path / "subs", ["correct"])
    with pytest.raises(UsageError, match="need --executor slurm"):
        api.grade(submissions=folder, assignment="tiny-rnn", out=tmp_path / "out",
                  sandbox="local", slurm=SlurmOptions(partition="gpu"))


# -- the rules, one by one ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5", 300), ("1:30", 90), ("2:00:00", 7200), ("1-0", 86400), ("1-2:30", 95400),
     ("0-0:0:45", 45)],
)
def test_time_in_sbatch_forms(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "1h", "0"])
def test_time_refused(text):
    with pytest.raises(UsageError, match="--time"):
        parse_time(text)


def test_sbatch_args_pass_through_and_harness_options_are_refused():
    assert parse_sbatch_args(["--constraint=a100 --exclude node7", "--exclusive"]) == {
        "constraint": "a100", "exclude": "node7", "exclusive": True,
    }
    with pytest.raises(UsageError, match="--array is set by the harness"):
        parse_sbatch_args(["--array=0-9"])
    with pytest.raises(UsageError, match="--time is set by its own option"):
        parse_sbatch_args(["--time=10"])
    with pytest.raises(UsageError, match="long options"):
        parse_sbatch_args(["-C a100"])


def test_gpu_rules_before_submitting():
    check_gpus("all", "gpu:1", {})
    check_gpus("2", "gpu:a100:2", {})
    check_gpus("", "", {})
    with pytest.raises(UsageError, match="add --gres gpu:1"):
        check_gpus("all", "", {})
    with pytest.raises(UsageError, match="would not see: add --gpus all"):
        check_gpus("", "gpu:1", {})
    with pytest.raises(UsageError, match="Slurm picks the devices"):
        check_gpus("device=0", "gpu:1", {})
    with pytest.raises(UsageError, match="more than --gres"):
        check_gpus("3", "gpu:2", {})


def test_the_student_gets_the_jobs_gpus_only():
    assert job_gpus("all", {"SLURM_JOB_GPUS": "2,5"}) == "device=2,5"
    assert job_gpus("1", {"SLURM_STEP_GPUS": "5,2", "SLURM_JOB_GPUS": "2,5"}) == "device=5"
    with pytest.raises(UsageError, match="gave this job no GPU"):
        job_gpus("all", {})
    with pytest.raises(UsageError, match="this job has 1 GPU"):
        job_gpus("2", {"SLURM_JOB_GPUS": "3"})

