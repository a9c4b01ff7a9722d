import contextlib
import pickle
import socket
import struct

import numpy as np
import pytest
import torch

from harness.runtime import channel


def roundtrip(value, *, tensors=True):
    enc = channel.Encoder()
    header = enc.encode(value)
    a, b = socket.socketpair()
    with a, b:
        channel.send(a, {"value": header}, enc.arrays)
        got, arrays = channel.receive(b)
    return channel.Decoder(arrays, tensors=tensors).decode(got["value"])


def test_plain_values_survive():
    value = {"a": [1, 2.5, None, True, "x"], "t": (1, (2, 3)), "n": float("nan")}
    out = roundtrip(value)
    assert out["a"] == [1, 2.5, None, True, "x"]
    assert out["t"] == (1, (2, 3))
    assert np.isnan(out["n"])


def test_arrays_and_tensors_keep_dtype_shape_and_grad_flag():
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    ten = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    out = roundtrip({"arr": arr, "ten": ten})
    assert out["arr"].dtype == np.float32 and out["arr"].shape == (3, 4)
    assert isinstance(out["ten"], torch.Tensor) and out["ten"].requires_grad
    assert out["ten"].dtype == torch.float64


def test_non_finite_numpy_scalars_survive():
    out = roundtrip([np.float64("nan"), np.float32("inf"), np.float64(-np.inf)])
    assert np.isnan(out[0]) and out[1] == float("inf") and out[2] == float("-inf")


def test_non_string_keys_are_kept():
    out = roundtrip({1: "a", (2, 3): "b"})
    assert out == {1: "a", (2, 3): "b"}


def test_object_arrays_are_refused():
    with pytest.raises(TypeError, match="Python objects"):
        channel.Encoder().encode(np.array([object()], dtype=object))


def test_a_pickle_in_the_blob_is_never_loaded():
    # A hostile peer hand-crafts an .npz whose member is a pickled object array.
    import io
    import zipfile

    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as zf, zf.open("a0.npy", "w") as f:
        np.lib.format.write_array(f, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    blob = payload.getvalue()
    head = b'{"value": {"__array__": "a0"}}'
    for numeric, refusal in ((True, "not numbers"), (False, "bad array blob")):
        a, b = socket.socketpair()
        with a, b:
            a.sendall(struct.pack("!4sII", channel.MAGIC, len(head), len(blob)) + head + blob)
            with pytest.raises(channel.ChannelError, match=refusal):
                channel.receive(b, numeric=numeric)


def _frame_with(write_member) -> bytes:
    import io
    import zipfile

    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as zf, zf.open("a0.npy", "w") as f:
        write_member(f)
    blob = payload.getvalue()
    head = b'{"value": {"__array__": "a0"}}'
    return struct.pack("!4sII", channel.MAGIC, len(head), len(blob)) + head + blob


@pytest.mark.parametrize(
    "array, refusal",
    [
        (np.array(["12", "3"]), "not numbers"),  # text that looks like numbers
        (np.array([b"ab"]), "not numbers"),
        (np.zeros(3, dtype=[("a", "f4"), ("b", "i4")]), "not numbers"),  # structured
        (np.zeros(2**27, dtype="V0"), "not numbers"),  # no bytes, a huge shape
        (np.array(["2026-01-01"], dtype="datetime64[D]"), "not numbers"),
    ],
)
def test_arrays_that_are_not_numbers_are_refused_on_the_trusted_side(array, refusal):
    frame = _frame_with(lambda f: np.lib.format.write_array(f, array, allow_pickle=False))
    a, b = socket.socketpair()
    with a, b:
        a.sendall(frame + channel.pack({"after": 1}, {}))
        with pytest.raises(channel.RejectedValue, match=refusal):
            channel.receive(b)
        # The refused frame was read whole: the channel is still in step.
        assert channel.receive(b)[0] == {"after": 1}


def test_a_shape_its_bytes_do_not_hold_is_refused_before_anything_is_allocated():
    def shape_bomb(f):
        header = {"descr": "<f8", "fortran_order": False, "shape": (2**40,)}
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 64)

    a, b = socket.socketpair()
    with a, b:
        a.sendall(_frame_with(shape_bomb))
        with pytest.raises(channel.RejectedValue, match="claims more than"):
            channel.receive(b)


def test_handle_metadata_is_kept_only_when_a_grader_could_use_it_safely():
    decode = channel.Decoder({}).decode
    assert decode({"__handle__": 1, "shape": [3, 4], "dtype": "float32"}).shape == (3, 4)
    for shape in ([2**40, 2**40], [-1], ["3"], [1.5], list(range(40)), "3,4"):
        assert decode({"__handle__": 1, "shape": shape}).shape is None
    assert decode({"__handle__": 1, "dtype": ["x"] * 3}).dtype is None
    with pytest.raises(ValueError, match="nan, inf or -inf"):
        decode({"__float__": "1e400"})


def test_bad_magic_and_oversized_frames_are_errors():
    a, b = socket.socketpair()
    with a, b:
        a.sendall(struct.pack("!4sII", b"EVIL", 2, 0) + b"{}")
        with pytest.raises(channel.ChannelError, match="magic"):
            channel.receive(b)
    a, b = socket.socketpair()
    with a, b:
        a.sendall(struct.pack("!4sII", channel.MAGIC, channel.MAX_HEADER + 1, 0))
        with pytest.raises(channel.ChannelError, match="too large"):
            channel.receive(b)


def test_pickle_is_not_used_anywhere_in_the_channel():
    import inspect

    source = inspect.getsource(channel)
    assert "pickle" not in source.replace("allow_pickle=False", "").replace("unpickled", "")
    assert pickle  # imported only to make the intent of this test obvious


def test_a_compressed_array_is_refused_unread():
    # pack never compresses; a deflated member could turn megabytes into gigabytes here.
    import io
    import zipfile

    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("a0.npy", "w") as f:
        np.lib.format.write_array(f, np.zeros(10_000))
    blob = payload.getvalue()
    head = b'{"value": {"__array__": "a0"}}'
    a, b = socket.socketpair()
    with a, b:
        a.sendall(struct.pack("!4sII", channel.MAGIC, len(head), len(blob)) + head + blob)
        with pytest.raises(channel.ChannelError, match="compressed"):
            channel.receive(b)


def test_a_frame_trickled_byte_by_byte_still_ends_at_its_deadline():
    import threading
    import time

    frame = channel.pack({"id": 1, "ok": True, "value": "x" * 20}, {})
    a, b = socket.socketpair()

    def trickle():
        for i in range(len(frame)):  # each byte well within a per-recv timeout
            with contextlib.suppress(OSError):
                a.sendall(frame[i : i + 1])
            time.sleep(0.05)

    with a, b:
        threading.Thread(target=trickle, daemon=True).start()
        b.settimeout(1.0)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            channel.receive(b, deadline=started + 0.3)
        # Not reset by each byte: the whole trickle would take len(frame) * 0.05 s.
        assert time.monotonic() - started < len(frame) * 0.05 / 2


def test_a_header_nested_too_deeply_and_a_closed_channel_are_channel_errors():
    head = b"[" * 5000 + b"]" * 5000
    a, b = socket.socketpair()
    with a, b:
        a.sendall(struct.pack("!4sII", channel.MAGIC, len(head), 0) + head)
        with pytest.raises(channel.ChannelError, match="RecursionError"):
            channel.receive(b)
    a, b = socket.socketpair()
    with b:
        a.close()
        with pytest.raises(channel.ChannelClosed):
            channel.receive(b)
