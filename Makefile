# The two commands of the README, and the set-up they share.
.PHONY: setup examples test benchmarks

PY := .venv/bin/python

setup:
	@bash scripts/setup.sh

# Grade every folder of example submissions; results go to results/<assignment>/.
examples: setup
	@set -e; for dir in submissions/*/; do \
		name=$$(basename "$$dir"); \
		$(PY) harness/grade.py "$$dir" --assignment "$$name" --out "results/$$name"; \
	done

test: setup
	$(PY) -m pytest

benchmarks: setup
	$(PY) benchmarks/overhead.py
