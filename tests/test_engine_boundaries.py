"""The engine (``harness/``) knows no course, and its sandbox side imports without cycles."""

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HARNESS = REPO / "harness"

# Course knowledge belongs in graders/: the names of the courses' tasks, models and data.
# Word-ish: "GANs", "nn.LSTMCell" and "char_lstm" match; "organ" and "began" do not.
COURSE_NAMES = re.compile(
    r"(?<![a-z0-9])(?i:palindrome|lstm|gan|blg561|mnist|gutenberg)s?(?![a-z0-9])"
)


def engine_files() -> list[Path]:
    return sorted(
        p
        for p in HARNESS.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".png")
    )


def test_no_course_names_in_the_engine():
    files = engine_files()
    assert any(p.suffix == ".j2" for p in files) and any(p.suffix == ".py" for p in files)
    hits = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if COURSE_NAMES.search(line)
    ]
    assert hits == [], "course names belong in graders/:\n" + "\n".join(hits)


def test_the_course_name_pattern():
    for text in ("GANs", "nn.LSTMCell", "task3_min_char_lstm.py", "rnn-gan-grader", "MNIST"):
        assert COURSE_NAMES.search(text), text
    for text in ("organ", "began", "slogan", "torch.nn.GRU", "ganglion"):
        assert not COURSE_NAMES.search(text), text


def test_the_runtime_imports_without_cycles():
    graph: dict[str, set[str]] = {}
    for path in (HARNESS / "runtime").glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [a.name for a in node.names]
                imported |= {name.split(".")[0] for name in names}
        graph[path.stem] = imported

    def cycle_from(module: str, path: tuple[str, ...]) -> tuple[str, ...] | None:
        for other in sorted(graph.get(module, ())):
            if other in path:
                return (*path[path.index(other) :], other)
            found = cycle_from(other, (*path, other))
            if found:
                return found
        return None

    assert "spy" in graph["ops"] and "ops" not in graph["spy"]
    cycles = [c for m in sorted(graph) if (c := cycle_from(m, (m,)))]
    assert cycles == []
