# The two commands of the README, and the set-up they share.
.PHONY: setup lock examples validate test lint benchmarks fidelity

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

# The 25 slowest tests are listed at the end: where the suite's time goes, run by run.
test: setup
	$(PY) -m pytest --durations=25

# ruff over the code; mypy over harness/ and the benchmarks (pyproject's [tool.mypy] files),
# then over graders/ with the same settings, one folder at a time: grader folders are not
# packages, several hold a conftest.py or a test_lstm.py, and their files import what sits
# beside them (the worker puts graders/ and the assignment's folder on sys.path). Every
# folder is checked; the target fails at the end if any failed.
GRADER_DIRS := $(sort $(dir $(wildcard graders/*/*.py graders/*/*/*.py)))

lint:
	$(PY) -m ruff check harness tests graders benchmarks
	$(PY) -m mypy
	@failed=""; for dir in $(GRADER_DIRS); do \
		path=graders; [ -f "$${dir}__init__.py" ] || path="graders:$$dir"; \
		echo "mypy $$dir"; \
		MYPYPATH="$$path" $(PY) -m mypy $$dir*.py || failed="$$failed $$dir"; \
	done; \
	if [ -n "$$failed" ]; then echo "mypy found errors in:$$failed"; exit 1; fi

benchmarks: setup
	$(PY) benchmarks/overhead.py

# Grade the examples (reusing what `make examples` left in results/) and compare each part's
# points with its label in expected.toml; rewrites benchmarks/results/class-fidelity.md.
fidelity: setup
	$(PY) benchmarks/class_fidelity.py --write benchmarks/results/class-fidelity.md
