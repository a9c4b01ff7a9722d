"""Grader code shared by more than one assignment: checks and helpers that know the course.

The grading worker puts the graders' folder on ``sys.path``, so a test file writes
``from _shared import palindrome``. A change here changes the digest of every assignment
beside it, so their submissions are graded again.
"""
