"""The student process's main loop: load the submission, answer calls, never decide.

Every request is one of a few operations on objects that stay in this process
(``load``, ``import``, ``getattr``, ``setattr``, ``call``, ``fetch``, ``op``...).
Exceptions raised by student code, ``SystemExit`` and ``KeyboardInterrupt`` included,
are caught and sent back as data; nothing here knows what a right answer is.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.abc
import importlib.util
import os
import random
import resource
import shutil
import socket
import sys
from typing import Any

from . import channel, ops, standins
from .failures import describe_exception

#: Results built only of these are sent by value; anything else stays here as a handle.
_SCALARS = (type(None), bool, int, float, str)
_MAX_PLAIN = 10_000


def _set_limits(args: argparse.Namespace) -> None:
    def cap(which: int, value: int) -> None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_CORE, 0)
    if args.rlimit_cpu:
        cap(resource.RLIMIT_CPU, args.rlimit_cpu)
    if args.rlimit_fsize:
        cap(resource.RLIMIT_FSIZE, args.rlimit_fsize)
    if args.rlimit_as:
        cap(resource.RLIMIT_AS, args.rlimit_as)


class _SeedOnImport(importlib.abc.MetaPathFinder):
    """Seeds numpy and torch the moment student code first imports them.

    Importing them eagerly would cost every submission torch's two-second import;
    seeding only those already imported would leave a later import unseeded.
    """

    seed = 0

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in ("numpy", "torch"):
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            _seed_module(name, module, self.seed)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


_SEEDER = _SeedOnImport()


def _seed_module(name: str, module: Any, seed: int) -> None:
    if name == "numpy":
        module.random.seed(seed % (2**32))
    elif name == "torch":
        module.manual_seed(seed)


def seed_everything(seed: int, *, torch: bool = False) -> None:
    random.seed(seed)
    _SEEDER.seed = seed
    if _SEEDER not in sys.meta_path:
        sys.meta_path.insert(0, _SEEDER)
    for name in ("numpy", "torch"):
        if name in sys.modules:
            _seed_module(name, sys.modules[name], seed)
    if torch and "torch" not in sys.modules:
        import torch as _torch  # noqa: F401  (seeded by the import hook)


def _plain(value: Any, depth: int = 0, budget: list[int] | None = None) -> bool:
    budget = budget if budget is not None else [_MAX_PLAIN]
    budget[0] -= 1
    if budget[0] < 0 or depth > 20:
        return False
    if isinstance(value, _SCALARS):
        return True
    if type(value) in (list, tuple) or type(value).__name__ == "Size":
        return all(_plain(v, depth + 1, budget) for v in value)
    if type(value) is dict:
        return all(isinstance(k, str) and _plain(v, depth + 1, budget) for k, v in value.items())
    return False


class Server:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.objects: dict[int, Any] = {}
        self._next = 1

    # -- handles --------------------------------------------------------------
    def keep(self, obj: Any) -> channel.Handle:
        hid = self._next
        self._next += 1
        self.objects[hid] = obj
        return channel.Handle(hid, *ops.summary(obj))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, channel.Handle):
            if value.id not in self.objects:
                raise LookupError(f"object #{value.id} no longer exists")
            return self.objects[value.id]
        return value

    def result(self, value: Any, want: str) -> Any:
        if want == "handle":
            return self.keep(value)
        if want == "value":
            return ops.to_value(value, self.keep)
        if type(value).__name__ == "Size" and isinstance(value, tuple):
            return tuple(value)
        return value if _plain(value) else self.keep(value)

    # -- the loop ---------------------------------------------------------------
    def serve(self) -> None:
        while True:
            try:
                header, arrays = channel.receive(self.sock, numeric=False)
            except channel.ChannelError:
                return
            if header.get("op") == "shutdown":
                with contextlib.suppress(OSError):
                    channel.send(self.sock, {"id": header.get("id"), "ok": True, "value": None}, {})
                return
            reply, reply_arrays = self.handle(header, arrays)
            try:
                channel.send(self.sock, reply, reply_arrays)
            except OSError:
                return

    def handle(self, header: dict[str, Any], arrays: dict[str, Any]) -> tuple[dict, dict]:
        rid = header.get("id")
        decoder = channel.Decoder(arrays, on_handle=self.resolve)
        try:
            op = header["op"]
            method = getattr(self, f"op_{op}", None)
            if method is None:
                raise ValueError(f"unknown operation {op!r}")
            value = method(decoder.decode(header.get("args", {})))
            want = header.get("want", "auto")
            encoder = channel.Encoder(on_object=self.keep)
            encoded = encoder.encode(self.result(value, want))
            return {"id": rid, "ok": True, "value": encoded}, encoder.arrays
        except BaseException as exc:  # student code may raise SystemExit or worse
            return {"id": rid, "ok": False, "error": describe_exception(exc)}, {}

    # -- operations -------------------------------------------------------------
    def op_hello(self, args: dict) -> dict:
        return ops.versions()

    def op_seed(self, args: dict) -> None:
        seed_everything(int(args["seed"]), torch=bool(args.get("torch", False)))

    def op_import(self, args: dict) -> Any:
        import importlib

        return importlib.import_module(args["name"])

    def op_load(self, args: dict) -> dict:
        return ops.load(
            args["path"],
            module=args.get("module"),
            mode=args.get("mode", "import"),
            inject=args.get("inject"),
        )

    def op_getattr(self, args: dict) -> Any:
        return getattr(args["target"], args["name"])

    def op_setattr(self, args: dict) -> None:
        setattr(args["target"], args["name"], args["value"])

    def op_getitem(self, args: dict) -> Any:
        return args["target"][args["key"]]

    def op_setitem(self, args: dict) -> None:
        args["target"][args["key"]] = args["value"]

    def op_call(self, args: dict) -> Any:
        return args["target"](*args.get("args", ()), **args.get("kwargs", {}))

    def op_fetch(self, args: dict) -> Any:
        return ops.to_value(args["target"], None)

    def op_release(self, args: dict) -> None:
        for hid in args.get("ids", ()):
            self.objects.pop(int(hid), None)

    def op_op(self, args: dict) -> Any:
        fn = ops.REGISTRY.get(args["name"])
        if fn is None:
            raise ValueError(f"unknown helper {args['name']!r}")
        return fn(*args.get("args", ()), **args.get("kwargs", {}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="harness_runtime")
    channel = parser.add_mutually_exclusive_group(required=True)
    channel.add_argument("--channel", help="the path of the trusted side's socket")
    channel.add_argument("--channel-fd", type=int, help="a socket already connected to it")
    parser.add_argument("--submission", required=True)
    parser.add_argument("--source")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rlimit-cpu", type=int, default=0)
    parser.add_argument("--rlimit-fsize", type=int, default=0)
    parser.add_argument("--rlimit-as", type=int, default=0)
    args = parser.parse_args(argv)

    _set_limits(args)
    if args.source and os.path.realpath(args.source) != os.path.realpath(args.submission):
        shutil.copytree(args.source, args.submission, dirs_exist_ok=True)
    os.chdir(args.submission)
    sys.path.insert(0, args.submission)
    sys.argv = ["submission"]
    seed_everything(args.seed)
    standins.install()

    if args.channel_fd is not None:  # a child of the zygote (harness_runtime.zygote)
        sock = socket.socket(fileno=args.channel_fd)
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(args.channel)
    try:
        Server(sock).serve()
    finally:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(BaseException):
                if stream is not None:
                    stream.flush()
        # Skip atexit handlers and destructors: student code gets no last word.
        os._exit(0)
