"""The harness's exceptions, as a small tree.

::

    HarnessError                  base of everything the harness raises on purpose
    ├── UsageError                bad options or an unknown assignment (exit code 2)
    ├── SpecError                 an assignment's spec file is invalid
    ├── SandboxError              a sandbox backend could not start or run a process
    └── SubmissionError           the submission's fault: it is reported, never fatal
        ├── NamingError           the ZIP's file name breaks the assignment's rule
        ├── ArchiveError          the ZIP cannot be unpacked safely
        │   ├── NotAZipError
        │   ├── EmptyArchiveError
        │   ├── EncryptedArchiveError
        │   ├── CorruptArchiveError
        │   ├── UnsafeEntryError  path traversal, links, device files
        │   └── ArchiveLimitError size, entry-count or compression-ratio limit
        └── LayoutError           a required file is missing or ambiguous

A ``SubmissionError`` becomes a "not graded" result with its message; anything
else that escapes a submission's pipeline is a fault of the harness.
Messages name the thing, what was expected and what was found.

``UnsafeSandboxWarning`` (a warning, not an error) is issued by ``api.grade`` whenever
it runs student code with the local backend, which isolates nothing.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base class for every error the harness raises deliberately."""


class UsageError(HarnessError):
    """The command was called wrongly: unknown assignment, bad size, missing folder."""


class SpecError(HarnessError):
    """An assignment's spec file is missing a field or has a wrong value."""


class SandboxError(HarnessError):
    """A sandbox backend is unavailable or failed to start a process."""


class SubmissionError(HarnessError):
    """A fault of the submission; the submission is reported as not graded.

    ``reason`` is a short machine-readable code used in gradebooks and summaries.
    """

    reason = "submission_error"


class NamingError(SubmissionError):
    reason = "misnamed"


class ArchiveError(SubmissionError):
    reason = "bad_archive"


class NotAZipError(ArchiveError):
    reason = "not_a_zip"


class EmptyArchiveError(ArchiveError):
    reason = "empty_archive"


class EncryptedArchiveError(ArchiveError):
    reason = "encrypted_archive"


class CorruptArchiveError(ArchiveError):
    reason = "corrupt_archive"


class UnsafeEntryError(ArchiveError):
    reason = "unsafe_entry"


class ArchiveLimitError(ArchiveError):
    reason = "archive_limit"


class LayoutError(SubmissionError):
    reason = "missing_files"


class UnsafeSandboxWarning(UserWarning):
    """Student code is about to run without isolation (the local backend)."""
