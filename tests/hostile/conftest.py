# The hostile suite's own assignment holds checks named test_*.py: they are graders that
# the harness runs against submissions, not tests of this project.
collect_ignore = ["assignments"]
