"""How good are the checks?  A mutation audit of an assignment's grader.

``operators`` puts one student-like fault at a time into the reference's source,
``runner.audit`` grades every mutant with the normal pipeline and reads the kill matrix
(mutants x checks), ``page`` writes it beside the class reports (``audit.html``,
``audit-matrix.csv``, ``audit.json``).  ``harness/grade.py audit -a NAME`` is the command.
"""
