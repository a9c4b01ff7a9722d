"""The public API for grader authors: everything a check imports from the harness.

A check is a pytest test in ``graders/<assignment>/test_*.py``; its points, part and
kind are in the assignment's ``assignment.toml``. Code two assignments share lives in
``graders/_shared/`` (``from _shared import cells``), an assignment's own helpers
beside its tests (``from lm_interface import ...``): the worker puts both folders on
``sys.path``. Graders import nothing else of the harness (a test holds them to it).

Fixtures the plugin gives every check:

``student``       the ``StudentSession``: the submission, running in the sandbox
``submission``    a ``Submission``: the files found, read-only, for static checks
``spec``          the ``AssignmentSpec``
``settings``      the spec's ``[settings]`` (a dict): the hand-out's facts
``evidence``      an ``Evidence`` recorder for the report
``reference``     a loader for the assignment's reference modules (trusted side)
``grading_seed``  the seed of this run (every check is also seeded from it)

Evidence (graders record data; the report draws it):

``evidence.text``    a paragraph          ``evidence.table``   columns and rows
``evidence.series``  a line of a plot     ``evidence.images``  a grid of grey images
``evidence.data``    any JSON value       ``evidence.figure``  a matplotlib figure
``evidence.for_review``  flag the submission for a TA, whatever its score

Results and failures: a check passes when it returns and fails with the message of its
first failed ``assert`` or ``fail(...)``; ``skip_unless`` stops it early at zero. An error
raised in student code is a ``StudentError``; ``student_call`` turns it into a failure
that shows the student's exception and the line it came from.

Values from the student: the channel refuses arrays that are not numbers; ask for more by
name, ``student.fetch(x, as_=FloatArray(shape=(B, 10)))``, ``Number()``, ``Text()``. A
value that does not fit is an ``UnusableValue``: the student's fault, said in words.

Comparison: ``assert_close`` and ``describe_mismatch`` (expected against got, in shapes
and values). Signatures: ``signature.parameters`` / ``signature.arguments`` read a
student callable's parameters and fill them by name. Scripts: ``record_how_it_ran``.
Static analysis: ``find_forbidden``, ``find_suspicious`` and ``describe_uses`` (forbidden
APIs in source files); ``load_definitions`` (a file's definitions without its top-level
script, for the trusted side's reference); ``reachable`` (the submission's files that some
files reach through their imports). ``reference_root`` and ``template_root`` are the
reference's and the hand-out's folders.
"""

from ..runtime.defonly import load_definitions
from ..session import Remote, StudentError, StudentSession, UnusableValue
from ..values import FloatArray, Number, Text
from . import signature
from .compare import assert_close, describe_mismatch
from .context import CheckFailed, Evidence, Submission, fail, skip_unless, student_call
from .forbidden import describe as describe_uses
from .forbidden import find_forbidden, find_suspicious
from .forbidden.reach import reachable
from .reference import reference_root, template_root
from .scripts import record_how_it_ran

__all__ = [
    "CheckFailed",
    "Evidence",
    "FloatArray",
    "Number",
    "Remote",
    "StudentError",
    "StudentSession",
    "Submission",
    "Text",
    "UnusableValue",
    "assert_close",
    "describe_mismatch",
    "describe_uses",
    "fail",
    "find_forbidden",
    "find_suspicious",
    "load_definitions",
    "reachable",
    "record_how_it_ran",
    "reference_root",
    "signature",
    "skip_unless",
    "student_call",
    "template_root",
]
