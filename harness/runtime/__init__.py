"""The student-side runtime: the only harness code that runs inside the sandbox.

It is mounted into the sandbox on its own, so its modules import nothing but the
standard library and each other (numpy and torch only lazily, when the student's
code already uses them).  It holds no checks, no expected values and no reference
code: it loads the submission and answers the trusted grading process's calls.
"""
