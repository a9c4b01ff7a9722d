"""What grader authors use: fixtures come from the plugin, helpers from here.

A check is a pytest test in ``graders/<assignment>/test_*.py``; its points, part
and kind are in the assignment's ``assignment.toml``.  Fixtures available to checks:

``student``     the ``StudentSession`` (the submission, running in the sandbox)
``submission``  a ``Submission``: the files found, read-only, for static checks
``spec``        the ``AssignmentSpec``
``settings``    the spec's ``[settings]`` (a dict)
``evidence``    an ``Evidence`` recorder: figures, tables and text for the report
``reference``   a loader for the assignment's reference modules (trusted side)
``grading_seed`` the seed of this run

A check passes when it returns, and fails with the message of the first failed
``assert`` (or ``fail(...)``); an error raised in student code fails it with the
student's exception and the line it came from.
"""

from .compare import assert_close, describe_mismatch
from .context import Evidence, Submission, fail, skip_unless, student_call

__all__ = [
    "Evidence",
    "Submission",
    "assert_close",
    "describe_mismatch",
    "fail",
    "skip_unless",
    "student_call",
]
