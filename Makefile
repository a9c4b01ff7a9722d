# The two commands of the README, and the set-up they share.
.PHONY: setup lock examples validate test benchmarks fidelity

PY := .venv/bin/python

setup:
	@bash scripts/setup.sh

# Re-resolve requirements.lock from pyproject.toml (pins stay unless pyproject.toml rules them
# out), rewrite docker/requirements.txt from it, print the pins that moved, install the result.
# `make lock UPGRADE="numpy matplotlib"` moves those packages to the newest versions allowed.
lock:
	@bash scripts/lock.sh $(UPGRADE)

# Grade every folder of example submissions; results go to results/<assignment>/.
examples: setup
	@set -e; for dir in submissions/*/; do \
		name=$$(basename "$$dir"); \
		$(PY) harness/grade.py "$$dir" --assignment "$$name" --out "results/$$name"; \
	done

# Validate every assignment's grader (grade.py validate): the reference gets full marks, the
# blank template zero, every example its expected verdict, every check and test its pair.
# Examples are graded into results/<assignment>/, reusing what `make examples` left there.
# Every assignment is validated; the target fails at the end if any had a problem.
validate: setup
	@status=0; for dir in submissions/*/; do \
		name=$$(basename "$$dir"); \
		$(PY) harness/grade.py validate --assignment "$$name" --out "results/$$name" || status=1; \
	done; exit $$status

test: setup
	$(PY) -m pytest

benchmarks: setup
	$(PY) benchmarks/overhead.py

# Grade the examples (reusing what `make examples` left in results/) and compare each part's
# points with its label in expected.toml; rewrites benchmarks/results/class-fidelity.md.
fidelity: setup
	$(PY) benchmarks/class_fidelity.py --write benchmarks/results/class-fidelity.md
