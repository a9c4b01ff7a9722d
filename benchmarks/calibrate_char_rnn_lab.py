"""Calibrate the char-rnn-lab reference: how far each model gets in a short budget.

Runs the two reference scripts (reference/char-rnn-lab/task2_min_char_rnn.py, the numpy
RNN, and task3_min_char_lstm.py, the PyTorch LSTM) exactly as a student would, on their
textData.txt, but with the ``while True:`` training loop cut to a number of iterations.
Each run is a fresh subprocess on one thread (OMP_NUM_THREADS=1, torch.set_num_threads(1))
with PYTHONHASHSEED, numpy's and torch's seeds all set to the run's seed, because the
scripts number the characters in ``list(set(data))`` order, which depends on the hash seed.

For each model, seed and checkpoint it records the script's own smoothed loss
(``smooth_loss``, decay 0.999, started at the uniform-guess loss), the mean raw loss of
the last 100 iterations, and the wall time. The RNN's loss is summed over its 25
characters, the LSTM's is averaged over its 50 (CrossEntropyLoss), so both are also given
per character, in nats. Writes benchmarks/results/char-rnn-lab.md.

    .venv/bin/python benchmarks/calibrate_char_rnn_lab.py                 # about 2 minutes
    .venv/bin/python benchmarks/calibrate_char_rnn_lab.py --checkpoints 500 2000 --seeds 1
"""

import argparse
import ast
import contextlib
import datetime
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "char-rnn-lab"
OUT = ROOT / "benchmarks" / "results" / "char-rnn-lab.md"
MODELS = {
    # name: (script, name of the per-iteration loss, characters per iteration, loss is a sum?)
    "RNN": ("task2_min_char_rnn.py", "loss", 25, True),
    "LSTM": ("task3_min_char_lstm.py", "err", 50, False),
}


def bounded_script(path: Path, iterations: int):
    """The script's code with its module-level ``while`` loop cut to ``iterations`` passes,
    calling ``__record__(globals())`` at the end of each pass."""
    tree = ast.parse(path.read_text(), str(path))
    index = max(i for i, stmt in enumerate(tree.body) if isinstance(stmt, ast.While))
    loop = tree.body[index]
    record = ast.Expr(ast.Call(ast.Name("__record__", ast.Load()),
                               [ast.Call(ast.Name("globals", ast.Load()), [], [])], []))
    tree.body[index] = ast.copy_location(
        ast.For(target=ast.Name("__pass__", ast.Store()),
                iter=ast.Call(ast.Name("range", ast.Load()), [ast.Constant(iterations)], []),
                body=[*loop.body, record], orelse=[]),
        loop)
    ast.fix_missing_locations(tree)
    return compile(tree, str(path), "exec")


def worker(model: str, seed: int, checkpoints: list[int]) -> dict:
    """One training run in this process; returns the measurements at each checkpoint."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    np.random.seed(seed)
    torch.manual_seed(seed)
    script, loss_name, _, _ = MODELS[model]
    code = bounded_script(REFERENCE / script, max(checkpoints))
    losses: list[float] = []
    rows: list[dict] = []
    start = time.perf_counter()

    def record(g: dict) -> None:
        value = g[loss_name]
        losses.append(float(value.detach()) if hasattr(value, "detach") else float(value))
        if len(losses) in checkpoints:
            rows.append({"iterations": len(losses),
                         "smooth_loss": float(g["smooth_loss"]),
                         "recent_loss": statistics.fmean(losses[-100:]),
                         "seconds": time.perf_counter() - start})

    printed = io.StringIO()
    os.chdir(REFERENCE)
    with contextlib.redirect_stdout(printed):
        exec(code, {"__name__": "calibration", "__record__": record})
    text = printed.getvalue()
    # the last sample the script printed, between its '----' lines
    sample = text.rsplit("----\n", 2)[-2].strip("\n ") if text.count("----") >= 2 else ""
    vocab = int(text.split(" unique")[0].rsplit(" ", 1)[-1])
    return {"model": model, "seed": seed, "vocab_size": vocab, "rows": rows,
            "sample": sample}


def run(model: str, seed: int, checkpoints: list[int]) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": str(seed), "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", model, "--seed", str(seed),
         "--checkpoints", *map(str, checkpoints)],
        env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def report(results: list[dict], checkpoints: list[int], command: str) -> str:
    import numpy as np
    import torch

    text_chars = len((REFERENCE / "textData.txt").read_text())
    lines = [
        "# char-rnn-lab: reference calibration",
        "",
        f"Command: `{command}`  ",
        f"Date: {datetime.date.today().isoformat()}  ",
        f"Machine: {cpu_name()}, one thread; Python {platform.python_version()}, "
        f"numpy {np.__version__}, torch {torch.__version__}  ",
        f"Data: reference/char-rnn-lab/textData.txt ({text_chars:,} characters, "
        f"vocabulary {results[0]['vocab_size']})",
        "",
        "Each reference script runs unchanged except that its `while True:` loop stops after "
        "the given number of iterations: the RNN (numpy, hidden 100, 25 characters per "
        "iteration, Adagrad lr 0.1, gradients clipped to +-5) and the LSTM (nn.LSTM + "
        "nn.Linear, hidden 100, 50 characters per iteration, SGD lr 0.1). `smooth_loss` is "
        "the script's own printed value (decay 0.999, starting at the uniform-guess loss, so "
        "it lags the raw loss by ~1,000 iterations); `last 100` is the mean raw loss of the "
        "last 100 iterations. Per character: the RNN's loss divided by 25 (it sums over the "
        "sequence), the LSTM's as is (CrossEntropyLoss averages). Uniform guessing costs "
        f"ln({results[0]['vocab_size']}) = {np.log(results[0]['vocab_size']):.2f} nats per "
        "character. Times include reading the text and the scripts' sampling and printing. "
        "Ranges are over seeds (PYTHONHASHSEED, numpy and torch seeds).",
        "",
        "| model | iterations | characters seen | smooth_loss (script) | per character | "
        "last 100, per character | wall time | ms / iteration |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, (_, _, chars_per_iter, summed) in MODELS.items():
        runs = [r for r in results if r["model"] == model]
        for checkpoint in checkpoints:
            rows = [row for r in runs for row in r["rows"] if row["iterations"] == checkpoint]
            scale = chars_per_iter if summed else 1

            def span(values, fmt):
                lo, hi = min(values), max(values)
                return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else \
                    f"{fmt.format(lo)}-{fmt.format(hi)}"

            smooth = [row["smooth_loss"] for row in rows]
            lines.append(
                f"| {model} | {checkpoint:,} | {checkpoint * chars_per_iter:,} | "
                f"{span(smooth, '{:.2f}')} | {span([s / scale for s in smooth], '{:.3f}')} | "
                f"{span([row['recent_loss'] / scale for row in rows], '{:.3f}')} | "
                f"{span([row['seconds'] for row in rows], '{:.1f}')} s | "
                f"{span([1000 * row['seconds'] / checkpoint for row in rows], '{:.2f}')} |")
    lines += ["", f"Runs per model: {len(results) // len(MODELS)} (seeds "
              f"{', '.join(str(r['seed']) for r in results if r['model'] == 'RNN')}).", ""]
    for model in MODELS:
        run0 = next(r for r in results if r["model"] == model)
        last_print = max(i for i in range(0, max(checkpoints))
                         if i % (100 if model == "RNN" else 1000) == 0)
        lines += [f"The {model}'s last printed sample (seed {run0['seed']}, printed at "
                  f"iteration {last_print:,}):", "", "```", run0["sample"], "```", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--seeds", type=int, default=3, help="runs per model (seeds 0..N-1)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--worker", choices=sorted(MODELS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    checkpoints = sorted(set(args.checkpoints))

    if args.worker:
        print(json.dumps(worker(args.worker, args.seed, checkpoints)))
        return

    results = []
    for model in MODELS:
        for seed in range(args.seeds):
            result = run(model, seed, checkpoints)
            last = result["rows"][-1]
            print(f"{model} seed {seed}: smooth_loss {last['smooth_loss']:.3f} after "
                  f"{last['iterations']} iterations, {last['seconds']:.1f} s", flush=True)
            results.append(result)
    given = list(argv if argv is not None else sys.argv[1:])
    shown = [a for i, a in enumerate(given)
             if not a.startswith("--out") and not (i and given[i - 1] == "--out")]
    command = " ".join([".venv/bin/python benchmarks/calibrate_char_rnn_lab.py", *shown])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(results, checkpoints, command) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
