"""The trusted side of a student process: start it in a sandbox, call into it, survive it.

Checks talk to the submission through a ``StudentSession``.  Everything the student
process returns is data (JSON and arrays) or a ``Remote`` proxy for an object that
stays inside it; a ``Remote`` reads like the object itself::

    code = session.load("part1/model.py", module="part1.model")
    model = code.Model(5, 1, 128, 10, 128)         # runs in the sandbox
    logits = model(torch.zeros(3, 4))              # a Remote for the tensor
    session.fetch(logits)                          # -> numpy array

Student exceptions arrive as ``StudentError``; a process that dies, runs out of
memory or overruns a call's time limit raises ``StudentCrashed`` /
``StudentTimeout``, and the next use starts a fresh process (so one hang does
not fail every later check).  Once the submission's own time budget is spent,
``TimeBudgetExceeded`` ends every further call at once.

Time limits count the student's CPU time where the backend can measure it
(``harness.sandbox.cpuclock``), so a verdict does not depend on how busy the machine
is; a wall-clock backstop ``WALL_FACTOR`` times larger ends code that sleeps or blocks.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .runtime import channel
from .sandbox import Job, Outcome, Running, Sandbox, SandboxLimits

STARTUP_TIMEOUT = 60.0
_MAX_MESSAGE = 4000
#: Seconds a student process may outlive the submission's deadline if the harness is gone.
WALL_SLACK = 30.0
#: The wall-clock backstop of a CPU-time limit, as a multiple of it: generous enough for a
#: student process that gets a quarter of a core on a busy machine.
WALL_FACTOR = 4.0
#: How often a waiting call reads the student's CPU clock (seconds).
CPU_POLL = 0.1


class StudentProblem(Exception):
    """Base of the ways a call into student code can go wrong."""


class StudentError(StudentProblem):
    """Student code raised an exception; its type, message and traceback are kept."""

    def __init__(self, error: Mapping[str, Any], *, during: str = "") -> None:
        # Caps as the runtime's own: a tampered runtime could send megabytes.
        self.type = str(error.get("type", "Exception"))[:200]
        self.message = str(error.get("message", ""))[:_MAX_MESSAGE]
        self.traceback = str(error.get("traceback", ""))[-2 * _MAX_MESSAGE :]
        where = error.get("where")
        self.where = (
            {k: str(where.get(k, ""))[:500] for k in ("file", "line", "code", "function")}
            if isinstance(where, Mapping)
            else None
        )
        self.hint = str(error.get("hint", ""))[:1000]
        self.during = during
        super().__init__(self.summary())

    def summary(self) -> str:
        text = f"{self.type}: {self.message}" if self.message else self.type
        if self.where:
            w = self.where
            path = str(w.get("file", "")).removeprefix("/submission/")
            text += f"\n  at {path}, line {w.get('line')}: {str(w.get('code', '')).strip()}"
        if self.during:
            text = f"while {self.during}, your code raised {text}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class StudentCrashed(StudentProblem):
    """The student process ended (crash, exit, signal, out of memory)."""

    def __init__(self, message: str, outcome: Outcome | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome


class StudentTimeout(StudentCrashed):
    """A call into student code did not return within its time limit."""


class MalformedReply(StudentCrashed):
    """The student process answered with something the protocol does not allow: its
    runtime was tampered with, or student code wrote to the channel.  Never our fault."""


class UnusableValue(StudentProblem):
    """The student's code gave back a value the grader does not accept where numbers are
    expected (an array of text, a shape its data does not hold). The process carries on."""


class TimeBudgetExceeded(StudentProblem):
    """The submission's time budget (or the current part's share of it) is spent; no
    more calls are made for it."""


class StaleObject(StudentProblem):
    """A ``Remote`` from a student process that has since been restarted."""


_CALLABLE_TYPES = frozenset(
    {
        "builtins.function",
        "builtins.method",
        "builtins.type",
        "builtins.builtin_function_or_method",
        "builtins.module",
    }
)


class Remote:
    """A proxy for an object that lives in the student process."""

    __slots__ = ("_session", "_handle", "_generation", "_origin", "__weakref__")

    def __init__(self, session: StudentSession, handle: channel.Handle, generation: int) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_generation", generation)
        # How to find this object again in a restarted process: ("load", args) for a
        # module, (parent, name) for an attribute of one.  Objects made by calls have
        # none: their state died with the process.
        object.__setattr__(self, "_origin", None)

    @property
    def remote_type(self) -> str:
        return self._handle.type

    @property
    def remote_shape(self) -> tuple[int, ...] | None:
        return self._handle.shape

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = self._session.request(
            "getattr", {"target": self, "name": name}, during=f"reading {self._describe()}.{name}"
        )
        if isinstance(value, Remote) and self._origin is not None:
            object.__setattr__(value, "_origin", (self, name))
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self._session.request(
            "setattr",
            {"target": self, "name": name, "value": value},
            during=f"setting {self._describe()}.{name}",
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self, *args, **kwargs)

    def __getitem__(self, key: Any) -> Any:
        return self._session.request(
            "getitem", {"target": self, "key": key}, during=f"indexing {self._describe()}"
        )

    def __setitem__(self, key: Any, value: Any) -> None:
        self._session.request("setitem", {"target": self, "key": key, "value": value})

    def __len__(self) -> int:
        value = self._session.op("len", self)
        if type(value) is not int or value < 0:
            raise self._session._malformed(TypeError(f"len() gave {value!r:.50}"), "")
        return value

    def fetch(self, *, as_: Any = None) -> Any:
        return self._session.fetch(self, as_=as_)

    def _describe(self) -> str:
        if self._handle.type in _CALLABLE_TYPES and self._handle.repr:
            return self._handle.repr
        return self._handle.type.rsplit(".", 1)[-1] or "object"

    def __repr__(self) -> str:
        shape = f" shape={self._handle.shape}" if self._handle.shape is not None else ""
        return f"<Remote {self._handle.type}{shape}>"

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._session._release(self)


class StudentSession:
    """One submission's student process, started lazily and restarted after a failure."""

    def __init__(
        self,
        *,
        sandbox: Sandbox,
        workdir: Path,
        runtime_parent: Path,
        limits: SandboxLimits,
        call_timeout: float,
        deadline: float,
        budget: float | None = None,
        seed: int = 0,
        data: Mapping[str, Path] | None = None,
        slot: int = 0,
    ) -> None:
        """``call_timeout`` and ``budget`` are seconds charged to the student: CPU seconds
        where the backend measures them, else wall-clock seconds.  ``deadline`` is the
        wall-clock backstop (``time.monotonic()``) of the whole submission; ``budget``
        defaults to the time until it."""
        self.sandbox = sandbox
        self.workdir = workdir
        self.runtime_parent = runtime_parent
        self.limits = limits
        self.call_timeout = call_timeout
        self.deadline = deadline
        self._created = time.monotonic()
        self.budget = budget if budget is not None else deadline - self._created
        self.seed = seed
        self.data = dict(data or {})
        self.slot = slot
        self.outcomes: list[Outcome] = []
        self.versions: dict[str, str] = {}
        self.starts = 0
        self._running: Running | None = None
        self._sock: socket.socket | None = None
        self._tmp: str | None = None
        self._generation = 0
        self._next_id = 1
        self._modules: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self._pending_release: list[int] = []
        self._pending_seed: int | None = None
        self._busy = False
        #: helpers run in every new student process before any student code is loaded
        #: (e.g. traps for forbidden APIs), as (name, args)
        self.on_start: list[tuple[str, tuple[Any, ...]]] = []
        #: notes for the report, e.g. what a definitions-only load left unrun
        self.notes: list[str] = []
        #: seconds spent starting and stopping student processes (for benchmarks)
        self.timings = {"startup": 0.0, "teardown": 0.0}
        #: seconds of the budget kept for the parts whose checks have not run yet: the
        #: grading plugin sets it before each check, so one part cannot starve another
        self.reserved = 0.0

    # -- life cycle -------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._running is not None and not self._running.poll()

    def spent(self) -> float:
        """Seconds charged to the submission so far: its processes' CPU time, or the wall
        time since the session began where a backend cannot measure CPU time."""
        readings = [o.cpu for o in self.outcomes]
        if self._running is not None:
            readings.append(self._running.cpu_seconds())
        if any(r is None for r in readings):
            return time.monotonic() - self._created
        return float(sum(r for r in readings if r is not None))

    def remaining(self) -> float:
        """Seconds of the budget the current check may still use: the submission's, less
        what is kept for parts still to come (the wall-clock backstop included)."""
        return min(self.budget - self.reserved - self.spent(), self.wall_remaining())

    def limit_reached(self) -> str:
        """Which limit stopped the work, in the student's words."""
        if self.reserved > 0 and self._whole_remaining() > 0:
            return (
                "this part's share of the submission's time limit was used up (the rest is "
                "kept for the other parts)"
            )
        return "the submission's time limit was reached"

    def wall_remaining(self) -> float:
        return self.deadline - time.monotonic()

    def budget_exhausted(self) -> bool:
        """Whether the submission's whole budget is spent (not only a part's share)."""
        return self._whole_remaining() <= 0

    def _whole_remaining(self) -> float:
        """Seconds of the submission's whole budget left, ignoring what parts keep back."""
        return min(self.budget - self.spent(), self.wall_remaining())

    def start(self) -> None:
        began = time.monotonic()
        if self.remaining() <= 0:
            raise TimeBudgetExceeded(f"{self.limit_reached()} before this check")
        self._tmp = tempfile.mkdtemp(prefix="grader-chan-")
        os.chmod(self._tmp, 0o755)
        path = Path(self._tmp) / "channel.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        os.chmod(path, 0o666)
        listener.listen(1)
        job = Job(
            workdir=self.workdir,
            channel=path,
            runtime_parent=self.runtime_parent,
            limits=self.limits,
            seed=self.seed,
            data=self.data,
            slot=self.slot,
            # A backstop for a harness that dies: no process outlives the submission's time.
            wall=max(self.wall_remaining(), 1.0) + WALL_SLACK,
        )
        self._generation += 1
        self.starts += 1
        self._modules.clear()
        self._pending_release.clear()
        try:
            self._running = self.sandbox.start(job)
        except BaseException:
            listener.close()
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
            raise
        listener.settimeout(0.2)
        waited_until = time.monotonic() + min(STARTUP_TIMEOUT, max(self.wall_remaining(), 1.0))
        # A backend may hand over a channel it connected itself (the zygote's children).
        connected = getattr(self._running, "channel", None)
        try:
            while connected is None:
                try:
                    self._sock, _ = listener.accept()
                    break
                except TimeoutError:
                    if self._running.poll():
                        outcome = self._finish("exited")
                        detail = _tail(outcome.stderr)
                        raise StudentCrashed(
                            "the student process ended before it could start"
                            + (f":\n{detail}" if detail else ""),
                            outcome,
                        ) from None
                    if time.monotonic() > waited_until:
                        outcome = self._finish("timeout")
                        raise StudentTimeout(
                            "the student process did not start in time", outcome
                        ) from None
        finally:
            listener.close()
        if connected is not None:
            self._sock = connected
        assert self._sock is not None
        self._sock.settimeout(None)
        self.versions = self.request("hello", {}, restart=False)
        for name, args in self.on_start:
            self.request("op", {"name": name, "args": list(args), "kwargs": {}}, restart=False)
        self.timings["startup"] += time.monotonic() - began
        if self._pending_seed is not None:
            self.reseed(self._pending_seed)

    def _finish(self, reason: str, grace: float = 2.0) -> Outcome:
        assert self._running is not None
        self._busy = False
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        began = time.monotonic()
        outcome = self._running.stop(reason=reason, grace=0.2 if reason == "timeout" else grace)
        self.timings["teardown"] += time.monotonic() - began
        self._running = None
        self.outcomes.append(outcome)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        return outcome

    def close(self) -> None:
        """Ask the runtime to exit, then make sure the process tree is gone."""
        if self._running is None:
            return
        if self._busy:
            # Interrupted while student code was running: it will not answer politely.
            self._finish("shutdown", grace=0.0)
            return
        if self._sock is not None:
            with contextlib.suppress(OSError, channel.ChannelError):
                self._sock.settimeout(2.0)
                channel.send(self._sock, {"id": 0, "op": "shutdown"}, {})
                channel.receive(self._sock, deadline=time.monotonic() + 2.0)
        self._finish("shutdown")

    def __enter__(self) -> StudentSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls -------------------------------------------------------------------
    def _revive(self, remote: Remote) -> None:
        """Point a module (or an attribute of one) at its twin in the current process."""
        origin = remote._origin
        if origin is None:
            raise StaleObject(
                "this object came from an earlier run of your code that has since been "
                "restarted after a failure"
            )
        if origin[0] == "load":
            fresh = self.load_info(**origin[1])["module"]
        else:
            parent, name = origin
            if parent._generation != self._generation:
                self._revive(parent)
            fresh = self.request("getattr", {"target": parent, "name": name})
        if not isinstance(fresh, Remote):
            raise StaleObject(f"{remote._describe()} is no longer an object in your code")
        object.__setattr__(remote, "_handle", fresh._handle)
        object.__setattr__(remote, "_generation", fresh._generation)
        object.__setattr__(fresh, "_generation", -1)  # the twin must not release the handle

    def _encode_object(self, value: Any) -> Any:
        if isinstance(value, Remote):
            if value._generation != self._generation:
                self._revive(value)
            return value._handle.to_json()
        raise TypeError(f"cannot send a {type(value).__qualname__} to the student process")

    def _wrap(self, handle: channel.Handle) -> Remote:
        return Remote(self, handle, self._generation)

    def _release(self, remote: Remote) -> None:
        if remote._generation == self._generation and self._running is not None:
            self._pending_release.append(remote._handle.id)

    def request(
        self,
        op: str,
        args: dict[str, Any],
        *,
        want: str = "auto",
        timeout: float | None = None,
        during: str = "",
        restart: bool = True,
    ) -> Any:
        if self._running is None or self._sock is None:
            if not restart:
                raise StudentCrashed("the student process is not running")
            self.start()
        assert self._sock is not None
        remaining = self.remaining()
        if remaining <= 0:
            raise TimeBudgetExceeded(self.limit_reached())
        limit = min(timeout or self.call_timeout, remaining)
        encoder = channel.Encoder(on_object=self._encode_object)
        payload = encoder.encode(args)
        rid = self._next_id
        self._next_id += 1
        header = {"id": rid, "op": op, "args": payload, "want": want}
        if self._pending_release and op != "release":
            ids, self._pending_release = self._pending_release, []
            self._send({"id": 0, "op": "release", "args": {"ids": ids}}, {}, limit)
            self._receive(limit, during)
        self._busy = True
        self._send(header, encoder.arrays, limit)
        reply, arrays = self._receive(limit, during)
        self._busy = False
        # Everything in a reply is the student process's to choose; what the protocol
        # does not allow is the student's fault, never a fault of the grader.
        try:
            if reply.get("id") != rid:
                raise ValueError(f"it answers request {reply.get('id')!r}, not {rid}")
            if reply.get("ok"):
                return channel.Decoder(arrays, on_handle=self._wrap).decode(reply.get("value"))
            error = reply.get("error")
            if not isinstance(error, Mapping):
                raise ValueError("its error report is not a mapping")
            problem = StudentError(error, during=during)
        except Exception as exc:  # RecursionError included: a value nested too deeply
            raise self._malformed(exc, during) from None
        raise problem

    def _malformed(self, exc: BaseException, during: str) -> MalformedReply:
        outcome = self._finish("malformed")
        what = f" while {during}" if during else ""
        return MalformedReply(
            f"the reply of your process could not be read{what} ({type(exc).__name__}: "
            f"{str(exc)[:200]}): code that changes the harness's runtime or writes to its "
            "channel is not allowed",
            outcome,
        )

    def _send(self, header: dict[str, Any], arrays: dict[str, Any], limit: float) -> None:
        assert self._sock is not None
        try:
            self._sock.settimeout(limit)
            channel.send(self._sock, header, arrays)
        except (OSError, TimeoutError) as exc:
            outcome = self._finish("timeout" if isinstance(exc, TimeoutError) else "exited")
            raise StudentCrashed(
                f"the student process stopped answering: {outcome.describe(self.limits)}", outcome
            ) from None

    def _await_reply(self, limit: float) -> tuple[float, str, bool]:
        """Wait until the student process starts to answer, or until it has used ``limit``
        seconds of CPU time (wall time where unmeasurable), or the wall-clock backstop has
        passed.  Returns the backstop deadline, why the wait ended ("" for a reply, "cpu"
        or "wall"), and whether CPU time was measured."""
        assert self._sock is not None and self._running is not None
        began = time.monotonic()
        cpu_began = self._running.cpu_seconds()
        backstop = limit * WALL_FACTOR if cpu_began is not None else limit
        deadline = began + min(backstop, max(self.wall_remaining(), 0.0))
        while True:
            wait = min(CPU_POLL, deadline - time.monotonic())
            if wait <= 0:
                return deadline, "wall", cpu_began is not None
            ready, _, _ = select.select([self._sock], [], [], wait)
            if ready:
                return deadline, "", cpu_began is not None
            if cpu_began is not None:
                cpu = self._running.cpu_seconds()
                if cpu is not None and cpu - cpu_began >= limit:
                    return deadline, "cpu", True

    def _receive(self, limit: float, during: str) -> tuple[dict[str, Any], dict[str, Any]]:
        assert self._sock is not None
        what = f" while {during}" if during else ""
        began = time.monotonic()
        measured = False
        try:
            deadline, over, measured = self._await_reply(limit)
            if over:
                raise TimeoutError(over)
            self._sock.settimeout(max(deadline - time.monotonic(), 0.001))
            return channel.receive(self._sock, deadline=deadline)
        except TimeoutError as exc:
            waited = time.monotonic() - began
            outcome = self._finish("timeout")
            if limit < self.call_timeout and self.remaining() <= 0.05:
                raise TimeBudgetExceeded(f"{self.limit_reached()}{what}") from None
            why, hint = "", "an endless loop, or far too slow?"
            if str(exc) == "cpu":
                why = f": it used {limit:.0f} s of CPU time"
            elif measured:
                why = f": it waited {waited:.0f} s without using its {limit:.0f} s of CPU time"
                hint = "sleeping, or waiting for something that never comes?"
            raise StudentTimeout(
                f"your code did not finish within {limit:.0f} s{what}{why} and was stopped "
                f"({hint})",
                outcome,
            ) from None
        except (OSError, channel.ChannelClosed):
            outcome = self._finish("exited")
            raise StudentCrashed(f"{outcome.describe(self.limits)}{what}", outcome) from None
        except channel.RejectedValue as exc:
            self._busy = False
            raise UnusableValue(
                f"your code gave back {exc}{what}; the grader accepts only arrays of numbers "
                "whose data matches their shape"
            ) from None
        except channel.ChannelError as exc:
            raise self._malformed(exc, during) from None

    # -- conveniences for checks ------------------------------------------------
    def call(
        self,
        target: Any,
        *args: Any,
        want: str = "auto",
        timeout: float | None = None,
        during: str = "",
        **kwargs: Any,
    ) -> Any:
        name = target._describe() if isinstance(target, Remote) else "function"
        return self.request(
            "call",
            {"target": target, "args": list(args), "kwargs": kwargs},
            want=want,
            timeout=timeout,
            during=during or f"calling {name}",
        )

    def load(
        self,
        path: str,
        *,
        module: str | None = None,
        mode: str = "import",
        inject: Mapping[str, Any] | None = None,
    ) -> Remote:
        """The student's file as a module (cached per process)."""
        return self.load_info(path, module=module, mode=mode, inject=inject)["module"]

    def load_info(
        self,
        path: str,
        *,
        module: str | None = None,
        mode: str = "import",
        inject: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Like ``load``, also returning what a definitions-only load left unrun."""
        key = (path, module, mode)
        if self._running is None:
            self.start()
        if key not in self._modules:
            info = self.request(
                "load",
                {"path": path, "module": module, "mode": mode, "inject": dict(inject or {})},
                want="value",
                during=f"importing {path}",
            )
            if not isinstance(info, dict) or not isinstance(info.get("module"), Remote):
                raise self._malformed(TypeError("the loaded module is not an object"), path)
            recipe = {"path": path, "module": module, "mode": mode, "inject": inject}
            description = str(info.get("description") or "")[: 2 * _MAX_MESSAGE]
            if description and description not in self.notes:
                self.notes.append(description)
            object.__setattr__(info["module"], "_origin", ("load", recipe))
            self._modules[key] = info
        return self._modules[key]

    def import_module(self, name: str) -> Remote:
        return self.request("import", {"name": name}, during=f"importing {name}")

    def fetch(self, obj: Any, *, as_: Any = None, timeout: float | None = None) -> Any:
        """``obj``'s value, brought to the trusted side. With ``as_`` (a type of
        ``harness.values``: ``FloatArray(shape=...)``, ``Number()``, ``Text()``) it is
        checked and converted, and a value that does not fit is ``UnusableValue``."""
        value = self.request(
            "fetch", {"target": obj}, want="value", timeout=timeout, during="reading a result"
        )
        return value if as_ is None else as_.accept(value, "the value your code returned")

    def op(
        self, name: str, *args: Any, want: str = "auto", timeout: float | None = None, **kwargs: Any
    ) -> Any:
        return self.request(
            "op", {"name": name, "args": list(args), "kwargs": kwargs}, want=want, timeout=timeout
        )

    def reseed(self, seed: int) -> None:
        """Seed the student process's random generators (applied at start if not running)."""
        self._pending_seed = seed
        if self._running is not None:
            self.request("seed", {"seed": seed}, restart=False)

    # -- logs ---------------------------------------------------------------------
    def logs(self) -> tuple[str, str]:
        outs = [o.stdout for o in self.outcomes if o.stdout]
        errs = [o.stderr for o in self.outcomes if o.stderr]
        sep = "\n[--- student process restarted ---]\n"
        return sep.join(outs), sep.join(errs)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
