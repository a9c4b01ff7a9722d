"""Framing and encoding of messages between the trusted grader and the student process.

A frame is ``MAGIC | len(header) | len(blob)`` (big-endian), a UTF-8 JSON header,
then an optional ``.npz`` blob holding the arrays the header refers to.  Arrays are
loaded with ``allow_pickle=False`` and nothing is ever unpickled, so a hostile
student process can send wrong data but never code.

Values are JSON with a few tagged forms::

    {"__array__": "a0"}                           numpy array a0 from the blob
    {"__tensor__": "a0", "requires_grad": false}  the same array as a torch tensor
    {"__tuple__": [...]}                          a tuple
    {"__slice__": [start, stop, step]}            a slice, for indexing remote tensors
    {"__map__": [[key, value], ...]}              a dict whose keys are not all strings
    {"__handle__": 7, "type": "mod.Class", "repr": "...", "shape": [..]}
                                                  an object left in the student process
    {"__float__": "nan"}                          a non-finite float
"""

from __future__ import annotations

import io
import json
import math
import socket
import struct
import sys
import time
from typing import Any

MAGIC = b"GRD1"
_HEAD = struct.Struct("!4sII")
#: Largest header and blob accepted; a frame over this is a protocol error, not an OOM.
#: They bound what one reply can make the trusted side hold: a blob's arrays are at most
#: the blob's own size, once the array headers have been checked against it.
MAX_HEADER = 64 * 1024**2
MAX_BLOB = 256 * 1024**2
#: Longest type name or repr of a handle kept (the peer's own cap is shorter).
_MAX_NAME = 1000
#: Most dimensions an array or a handle's shape may have, and most elements a handle
#: may claim (a grader may allocate what a shape says).
MAX_DIMS = 32
MAX_ELEMENTS = 2**31
#: The dtype kinds an array may have: bool, signed and unsigned integers, floats and
#: complex numbers. Text, bytes, void, structured and date types are refused.
NUMERIC_KINDS = frozenset("biufc")


class ChannelError(Exception):
    """The peer closed the channel or sent a malformed frame."""


class RejectedValue(ChannelError):
    """A well-formed frame carrying a value the receiver does not accept (an array of text,
    a shape bomb). The frame was read whole, so the channel is still in step."""


class ChannelClosed(ChannelError):
    """The peer closed the channel (its process ended, as a rule)."""


class Handle:
    """A reference to an object that stays in the student process."""

    __slots__ = ("id", "type", "repr", "shape", "dtype")

    def __init__(
        self,
        id: int,
        type: str = "",
        repr: str = "",
        shape: tuple[int, ...] | None = None,
        dtype: str | None = None,
    ) -> None:
        self.id = id
        self.type = type
        self.repr = repr
        self.shape = shape
        self.dtype = dtype

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"__handle__": self.id, "type": self.type, "repr": self.repr}
        if self.shape is not None:
            data["shape"] = list(self.shape)
        if self.dtype is not None:
            data["dtype"] = self.dtype
        return data

    def __repr__(self) -> str:
        return f"Handle({self.id}, {self.type})"


class TensorSpec:
    """On the sending side: send this array so that the receiver rebuilds a torch tensor."""

    __slots__ = ("array", "requires_grad")

    def __init__(self, array: Any, requires_grad: bool = False) -> None:
        self.array = array
        self.requires_grad = requires_grad


def _is_torch_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _is_ndarray(value: Any) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.ndarray)


class Encoder:
    """Turns a value into (JSON-able header, arrays); ``on_object`` handles anything else."""

    def __init__(self, on_object: Any = None) -> None:
        self.arrays: dict[str, Any] = {}
        self._on_object = on_object

    def _add(self, array: Any) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = array
        return key

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            # float() first: numpy's float64 is a float whose repr is "np.float64(nan)".
            value = float(value)
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, Handle):
            return value.to_json()
        if isinstance(value, TensorSpec):
            return {"__tensor__": self._add(value.array), "requires_grad": value.requires_grad}
        if _is_ndarray(value):
            if value.dtype.hasobject:
                raise TypeError("arrays of Python objects cannot be sent")
            return {"__array__": self._add(value)}
        if _is_torch_tensor(value):
            array = value.detach().cpu().numpy()
            return {"__tensor__": self._add(array), "requires_grad": bool(value.requires_grad)}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, slice):
            return {
                "__slice__": [
                    self.encode(value.start),
                    self.encode(value.stop),
                    self.encode(value.step),
                ]
            }
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: self.encode(v) for k, v in value.items()}
            return {"__map__": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        np = sys.modules.get("numpy")
        if np is not None and isinstance(value, np.generic):
            return self.encode(value.item())
        if self._on_object is not None:
            return self._on_object(value)
        raise TypeError(f"cannot send a value of type {type(value).__qualname__}")


class Decoder:
    """Rebuilds values from a header and its arrays; ``on_handle`` maps handle dicts."""

    def __init__(self, arrays: dict[str, Any], on_handle: Any = None, tensors: bool = True) -> None:
        self._arrays = arrays
        self._on_handle = on_handle
        self._tensors = tensors

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "__array__" in value:
            return self._arrays[value["__array__"]]
        if "__tensor__" in value:
            array = self._arrays[value["__tensor__"]]
            if not self._tensors:
                return array
            import torch

            tensor = torch.from_numpy(array.copy())
            if value.get("requires_grad"):
                tensor.requires_grad_(True)
            return tensor
        if "__tuple__" in value:
            return tuple(self.decode(v) for v in value["__tuple__"])
        if "__slice__" in value:
            return slice(*(self.decode(v) for v in value["__slice__"]))
        if "__map__" in value:
            return {self._key(self.decode(k)): self.decode(v) for k, v in value["__map__"]}
        if "__float__" in value:
            text = value["__float__"]
            if text not in ("nan", "inf", "-inf"):
                raise ValueError(f"a non-finite float must be nan, inf or -inf, not {text!r}")
            return float(text)
        if "__handle__" in value:
            dtype = value.get("dtype")
            handle = Handle(
                int(value["__handle__"]),
                str(value.get("type", ""))[:_MAX_NAME],
                str(value.get("repr", ""))[:_MAX_NAME],
                _claimed_shape(value.get("shape")),
                dtype[:_MAX_NAME] if isinstance(dtype, str) else None,
            )
            return self._on_handle(handle) if self._on_handle else handle
        return {k: self.decode(v) for k, v in value.items()}

    @staticmethod
    def _key(key: Any) -> Any:
        return tuple(key) if isinstance(key, list) else key


def _claimed_shape(shape: Any) -> tuple[int, ...] | None:
    """A handle's shape as the peer claims it, if it is one a grader could safely use."""
    if not isinstance(shape, list) or len(shape) > MAX_DIMS:
        return None
    if not all(type(n) is int and n >= 0 for n in shape):
        return None
    return tuple(shape) if math.prod(shape) <= MAX_ELEMENTS else None


def pack(header: dict[str, Any], arrays: dict[str, Any]) -> bytes:
    head = json.dumps(header, allow_nan=False).encode("utf-8")
    blob = b""
    if arrays:
        import numpy as np

        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        blob = buffer.getvalue()
    return _HEAD.pack(MAGIC, len(head), len(blob)) + head + blob


def _recv_exact(sock: socket.socket, n: int, deadline: float | None = None) -> bytes:
    chunks = []
    remaining = n
    while remaining:
        if deadline is not None:
            # The socket's own timeout is per recv: without this, a peer that sends one
            # byte just inside it could stretch one frame forever.
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the frame did not arrive in time")
            sock.settimeout(left)
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise ChannelClosed("the other side closed the channel")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def send(sock: socket.socket, header: dict[str, Any], arrays: dict[str, Any]) -> None:
    sock.sendall(pack(header, arrays))


def receive(
    sock: socket.socket, *, deadline: float | None = None, numeric: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The next frame; with ``deadline`` (a ``time.monotonic()`` value) all of it must have
    arrived by then, or ``TimeoutError``.  Anything malformed is a ``ChannelError``; with
    ``numeric`` (the trusted side's default), an array that is not numbers, or whose
    declared shape its bytes do not hold, is a ``RejectedValue``."""
    magic, head_len, blob_len = _HEAD.unpack(_recv_exact(sock, _HEAD.size, deadline))
    if magic != MAGIC:
        raise ChannelError(f"bad frame: expected magic {MAGIC!r}, got {magic!r}")
    if head_len > MAX_HEADER or blob_len > MAX_BLOB:
        raise ChannelError(f"frame too large ({head_len} + {blob_len} bytes)")
    try:
        header = json.loads(_recv_exact(sock, head_len, deadline).decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON; nested too deeply
        raise ChannelError(f"bad frame header: {type(exc).__name__}: {exc}") from None
    if not isinstance(header, dict):
        raise ChannelError("bad frame header: not a JSON object")
    arrays: dict[str, Any] = {}
    if blob_len:
        arrays = _load_arrays(_recv_exact(sock, blob_len, deadline), numeric=numeric)
    return header, arrays


def _load_arrays(blob: bytes, *, numeric: bool = True) -> dict[str, Any]:
    import zipfile

    import numpy as np

    try:
        # ``pack`` never compresses.  A compressed member could inflate a few megabytes of
        # blob into gigabytes here, on the trusted side; stored ones are no larger than
        # the blob itself.
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            for info in zf.infolist():
                if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(blob):
                    raise ChannelError(f"bad array blob: {info.filename!r} is compressed")
            if numeric:
                # Before anything is allocated: each array's header, against its bytes.
                for info in zf.infolist():
                    with zf.open(info) as member:
                        _check_array_header(member, info.file_size)
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except ChannelError:
        raise
    except Exception as exc:  # a malformed blob is the peer's fault, never ours
        raise ChannelError(f"bad array blob: {exc}") from None


def _check_array_header(member: Any, size: int) -> None:
    """Refuse an array that is not numbers, or whose shape claims more than its bytes."""
    from numpy.lib import format as npy

    version = npy.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = npy.read_array_header_1_0(member)
    else:
        shape, _, dtype = npy.read_array_header_2_0(member)
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype:
        raise RejectedValue(f"an array of dtype {str(dtype)[:40]!r} (not numbers)")
    if len(shape) > MAX_DIMS:
        raise RejectedValue(f"an array with {len(shape)} dimensions")
    count = math.prod(shape)
    if count * dtype.itemsize > size - member.tell():
        raise RejectedValue(
            f"an array whose shape {tuple(shape)[:8]} claims more than the "
            f"{size - member.tell()} bytes it came with"
        )
