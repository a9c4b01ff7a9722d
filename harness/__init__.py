"""Grading harness for deep-learning programming assignments.

The pipeline for one submission is a chain of small steps, each in its own module::

    intake (safe ZIP extraction)  ->  layout (find the required files)
        ->  trusted grading process (pytest over the assignment's checks)
            <-> sandboxed student process (imports the submission, answers calls)
        ->  results.json (Gradescope format)  ->  gradebook and reports

``harness.api.grade`` is the keyword-only entry point; ``harness/grade.py`` is the
thin command line over it.
"""

__version__ = "0.1.0"
