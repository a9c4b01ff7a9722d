"""Student text shown to a TA loses its escape sequences and control characters."""

from harness.text import printable, printable_bytes


def test_escape_sequences_and_controls_are_removed_and_lines_kept():
    forged = (
        "\x1b]0;all checks passed\x07"  # a window title
        "\x1b[2K\x1b[1A\x1b[32mgrade 16/16\x1b[0m\n"  # erase, move up, colour
        "\x1b]8;;https://example.invalid\x1b\\link\x1b]8;;\x1b\\\tend\x00\x9b31m"
    )
    text = printable(forged)
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    assert text.splitlines()[0] == "grade 16/16"
    assert "link\tend" in text and "\x00" not in text


def test_log_bytes_are_decoded_leniently():
    assert printable_bytes(b"ok \xff\x1b[31mred\n") == "ok \N{REPLACEMENT CHARACTER}red\n".encode()
