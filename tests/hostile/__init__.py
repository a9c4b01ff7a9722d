"""Hostile submissions and the tools to judge them (tests/test_hostile.py, SECURITY.md).

``cases`` and ``lstm_cases`` hold the cases with their verdicts, ``student`` the code
they run in the sandbox, ``zips`` the archive builders, ``machine`` what a batch may
leave behind, and ``table`` SECURITY.md's table.
"""
