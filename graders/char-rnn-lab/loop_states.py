"""Where Task 2.3's training loop assigns the states it carries (the hand-out's hprev and
cprev, lines 98-99) and whether it takes them out of the autograd graph, read from the
source (the loop trains forever, so it is never run)."""

from __future__ import annotations

import ast

from harness.checks import fail


def training_loop(source: str, file: str, states: tuple[str, ...]) -> ast.While | ast.For:
    """The training loop: the outermost loop that assigns one of ``states`` (the template's
    module-level ``while True:``), else the last module-level loop."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        fail(f"{file} is not valid Python: {exc.msg} (line {exc.lineno})")
    loops = [n for n in ast.walk(tree) if isinstance(n, ast.While | ast.For)]
    for loop in loops:  # breadth first: outer loops come first
        if any(state_assignments(loop, states).values()):
            return loop
    top = [s for s in tree.body if isinstance(s, ast.While | ast.For)]
    if not top:
        fail(f"{file} has no 'while True:' training loop at module level: keep the template's")
    return top[-1]


def state_assignments(loop: ast.While | ast.For, states: tuple[str, ...]) -> dict[str, list]:
    """Every assignment to each of ``states`` in the loop, in source order."""
    found: dict[str, list] = {name: [] for name in states}
    for node in ast.walk(loop):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and node.value:
            for name in _targets(node) & set(states):
                found[name].append(node)
    for name in states:
        found[name].sort(key=lambda s: (s.lineno, s.col_offset))
    return found


def is_reset(statement: ast.Assign, states: tuple[str, ...]) -> bool:
    """``hprev = torch.zeros(1, 1, hidden_size)``: a fresh state, read from no tensor."""
    value = statement.value
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr in ("zeros", "zeros_like", "randn", "rand", "ones", "empty")
        and not (_reads(value) & {"hcprev", *states, "output", "h", "c"})
    )


def detaches(node: ast.AST) -> bool:
    """Whether an expression takes a tensor out of the graph: .detach(), .detach_(), .data."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in ("detach", "detach_", "data"):
            return True
    return False


def detached_later(loop: ast.While | ast.For, name: str, assignment: ast.stmt) -> bool:
    """``hprev.detach_()`` as a statement after the last assignment."""
    for node in ast.walk(loop):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "detach_"
            and isinstance(node.value.func.value, ast.Name)
            and node.value.func.value.id == name
            and node.lineno > assignment.lineno
        ):
            return True
    return False


def _reads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _targets(statement: ast.Assign | ast.AnnAssign | ast.AugAssign) -> set[str]:
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
