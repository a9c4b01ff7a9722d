"""The grader's brief training of palindrome models, step by step against batched (issue 15).

    .venv/bin/python benchmarks/training_speed.py [--example Correct-1001] [--repeat 1]

For each (model, length) the palindrome checks train, the same seeded RMSProp loop runs
twice on the same student process (bubblewrap, no zygote), from the same initial weights:

stepwise  the loop as it was: every step seven requests to the sandbox (forward, index,
          loss, zero_grad, backward, clip, step), the held-out evaluation every 50 steps
batched   ``palindrome.train``: the steps between two evaluations in one request (the
          runtime's ``train_steps``); an evaluation ends once 99% is out of reach

Each row: wall seconds, the trusted side's CPU seconds (this process), the student
process's CPU seconds, the requests sent, the steps run, and whether both loops ended
with bitwise the same parameters, losses, steps and final accuracy. One run on a shared machine:
compare the columns of a row; CPU seconds move less with the load than wall seconds.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "graders"))

from _shared import palindrome as pal  # noqa: E402
from harness.sandbox import SandboxLimits, prepare_runtime  # noqa: E402
from harness.sandbox.bwrap import BwrapSandbox  # noqa: E402
from harness.session import StudentSession  # noqa: E402

EXAMPLES = ROOT / "tests" / "assignments" / "examples" / "palindrome-rnn-lstm"
LIMITS = SandboxLimits(
    memory=3 * 1024**3, cpu_time=1800, processes=64, file_size=32 * 1024**2, output=8192
)
#: (file, class, kind, length, steps): the training checks of palindrome-rnn-lstm.
CASES = [
    ("part1/vanilla_rnn.py", "VanillaRNN", "rnn", 5, 1500),
    ("part1/lstm.py", "LSTM", "lstm", 5, 1500),
    ("part1/lstm.py", "LSTM", "lstm", 10, 2500),
]


def train_stepwise(
    session: StudentSession,
    found: pal.Probe,
    model: Any,
    *,
    length: int,
    steps: int,
    lr: float = 1e-3,
    batch: int = 128,
    clip: float = 10.0,
    seed: int = 0,
    eval_every: int = 50,
    target: float = 0.99,
) -> tuple[float, list[tuple[int, float, float]]]:
    """The grader's loop before the batched op: a request per operation of every step."""
    import torch

    torch_ = session.import_module("torch")
    functional = session.import_module("torch.nn.functional")
    params = session.import_module("builtins").list(model.parameters())
    optimiser = torch_.optim.RMSprop(params, lr=lr)
    clip_grad = session.import_module("torch.nn.utils").clip_grad_norm_
    loss_fn = {"logits": functional.cross_entropy}.get(found.output, functional.nll_loss)
    log, zero_grad, step_fn = torch_.log, optimiser.zero_grad, optimiser.step
    rng = np.random.default_rng(seed)
    test_digits, test_targets = pal.palindromes(1024, length, np.random.default_rng(seed + 99))
    curve: list[tuple[int, float, float]] = []
    accuracy = 0.0
    for step in range(1, steps + 1):
        digits, targets = pal.palindromes(batch, length, rng)
        out = found.forward(model, found.layout.encode(digits))
        out = pal._last_step(out, found, batch, length - 1)
        if found.output == "probabilities":
            out = log(out)
        loss = loss_fn(out, torch.from_numpy(targets))
        zero_grad()
        loss.backward()
        clip_grad(params, clip)
        step_fn()
        if step % eval_every == 0 or step == steps:
            logits = pal.run_model(session, found, model, test_digits, chunk=batch)
            accuracy = float((logits.argmax(axis=1) == test_targets[: len(logits)]).mean())
            curve.append((step, float(session.fetch(loss)), accuracy))
            if accuracy >= target:
                break
    return accuracy, curve


def measure(
    session: StudentSession,
    loop: Callable[..., Any],
    found: pal.Probe,
    start: dict[str, Any],
    length: int,
    steps: int,
) -> dict[str, Any]:
    model = found.model(seq_length=length - 1, hidden=128, batch=128)
    session.op("set_parameters", model, start)
    requests, cpu, student = session._next_id, time.process_time(), session.spent()
    began = time.perf_counter()
    accuracy, curve = loop(session, found, model, length=length, steps=steps)
    return {
        "wall": time.perf_counter() - began,
        "trusted": time.process_time() - cpu,
        "student": session.spent() - student,
        "requests": session._next_id - requests,
        "steps": curve[-1][0],
        "accuracy": accuracy,
        "curve": curve,
        "params": session.op("parameters", model, want="value"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--example", default="Correct-1001")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    rows: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = []
    with tempfile.TemporaryDirectory() as tmp:
        sub = Path(tmp) / "sub"
        shutil.copytree(EXAMPLES / args.example, sub)
        session = StudentSession(
            sandbox=BwrapSandbox(),
            workdir=sub,
            runtime_parent=prepare_runtime(Path(tmp) / "rt"),
            limits=LIMITS,
            call_timeout=600.0,
            deadline=time.monotonic() + 3600,
        )
        try:
            for path, cls, kind, length, steps in CASES:
                module = session.load(path, module=path.removesuffix(".py").replace("/", "."))
                found = pal.probe(session, getattr(module, cls), kind, hidden=12)
                first = found.model(seq_length=length - 1, hidden=128, batch=128)
                start = session.op("parameters", first, want="value")
                for _ in range(args.repeat):
                    old = measure(session, train_stepwise, found, start, length, steps)
                    new = measure(session, pal.train, found, start, length, steps)
                    # The same steps, losses and final accuracy (the batched loop's
                    # intermediate accuracies may be measured on fewer palindromes).
                    same = (
                        [c[:2] for c in old["curve"]] == [c[:2] for c in new["curve"]]
                        and old["accuracy"] == new["accuracy"]
                    ) and all(
                        np.array_equal(old["params"][n], new["params"][n]) for n in old["params"]
                    )
                    rows.append((f"{cls} T={length}", old, new, same))
        finally:
            session.close()
    print(f"example {args.example}, bubblewrap, one student process; seconds\n")
    print("| model | loop | steps | wall | trusted CPU | student CPU | requests | same result |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name, old, new, same in rows:
        for label, r in (("stepwise", old), ("batched", new)):
            print(
                f"| {name} | {label} | {r['steps']} | {r['wall']:.2f} | {r['trusted']:.2f} | "
                f"{r['student']:.2f} | {r['requests']} | {'yes' if same else 'NO'} |"
            )
    for label, runs in (("stepwise", [r[1] for r in rows]), ("batched", [r[2] for r in rows])):
        sums = {k: sum(run[k] for run in runs) for k in ("wall", "trusted", "student")}
        print(
            f"\ntotal {label}: wall {sums['wall']:.2f}, trusted CPU {sums['trusted']:.2f}, "
            f"student CPU {sums['student']:.2f}",
            end="",
        )
    print()


if __name__ == "__main__":
    main()
