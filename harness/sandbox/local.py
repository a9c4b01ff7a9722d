"""The local backend: a plain child process with rlimits.  For development only.

It has no file-system or network isolation at all: student code can read the
graders and reference, reach the network and write anywhere the harness can.
The harness prints a loud warning whenever it grades with it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from ..errors import SandboxError
from .base import Job, PopenRunning, runtime_args, student_env

WARNING = (
    "WARNING: the 'local' sandbox runs student code with NO isolation (it can read the "
    "graders and reference, use the network and write files). Use it for development only."
)


class LocalSandbox:
    name = "local"

    def describe(self) -> str:
        return "local (NO isolation: development only); CPU time and file size by rlimit"

    def start(self, job: Job) -> PopenRunning:
        home = tempfile.mkdtemp(prefix="grader-home-")
        workdir = tempfile.mkdtemp(prefix="grader-sub-")
        env = student_env(job, home=home)
        env["PATH"] = os.environ.get("PATH", env["PATH"])
        argv = [sys.executable] + runtime_args(
            job, runtime_parent=str(job.runtime_parent), channel=str(job.channel), workdir=workdir
        )
        argv += ["--source", str(job.workdir)]

        def cleanup() -> None:
            for d in (home, workdir):
                shutil.rmtree(d, ignore_errors=True)

        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                env=env,
                cwd=workdir,
            )
        except OSError as exc:
            cleanup()
            raise SandboxError(f"could not start the student process: {exc}") from exc
        return PopenRunning(proc, limits=job.limits, on_stop=cleanup)
