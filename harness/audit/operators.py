"""Mutation operators: faults students really make, applied to the reference's source.

Each operator reads one file's syntax tree and proposes *edits*: a span of the source
(from an ``ast`` node's position) and the text to put there.  Only that span changes, so
every other line, comment and line number stays as it was (graders that read a named
line, such as char-rnn-lab's "line 41", still find it).  ``mutants(files)`` applies each
edit alone and returns one ``Mutant`` per edit, with a stable id such as
``drop-bias:task2_min_char_rnn.py:41:1`` (operator, file, line, ordinal on that line) that
the human-kept list of equivalent mutants names.

The fault operators (``FAULTS``) mirror the mistakes of the course's students:

==========================  ============================================================
``sigmoid-tanh``            tanh where sigmoid belongs, and the reverse
``swap-gates``              two gates exchanged (in an unpacking or in the cell update)
``transpose-weight``        ``W`` for ``W.T`` and ``W.T`` for ``W`` in a product
``drop-bias``               ``... + b`` without its bias
``no-cell-carry``           the cell state is not carried to the next step
``detach-hidden``           the hidden state detached inside the recurrence (torch)
``keep-graph``              a state that should be detached is not (torch)
``h-for-c``                 the hidden state used where the cell state belongs
``off-by-one-time``         ``[t - 1]`` read as ``[t]``; a loop one step short
``softmax-twice``           a softmax over probabilities; logits softmaxed before the loss
``loss-reduction``          sum for mean and mean for sum
``generator-no-output``     a generator class without its output non-linearity
``backward-term-missing``   a gradient that leaves out one of its terms (numpy)
==========================  ============================================================

and two general ones (``GENERAL``), inside function bodies only: ``arithmetic`` (+ and -,
* and / exchanged) and ``comparison`` (< and <=, > and >=, == and != exchanged).  They are
small ``ast`` visitors rather than mutmut or cosmic-ray: mutmut 3 mutates a package in
place through its own trampolines and test runner, and cosmic-ray drives its own
session database and test command; neither hands out a mutated source to grade as a
ZIP, and both would rewrite more than the one span (see ``docs`` in the audit's README
section).
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

#: Names of hidden states and cell states as the references and skeletons write them.
H_NAME = re.compile(r"^(h|hs|hprev|h_prev|h_t|ht|h0|h_next|hidden|h_tm1)$")
C_NAME = re.compile(r"^(c|cs|cprev|c_prev|c_t|ct|c0|c_next|cell|c_tm1)$")
GATE_NAME = re.compile(r"^(i|f|o|g)(_?t|_gate)?$|^(input|forget|output)_gate$")
WEIGHT_NAME = re.compile(r"^(W|weight)")
BIAS_NAME = re.compile(r"^(b|bias)([_A-Za-z0-9]*)$")
TIME_NAME = re.compile(r"^(t|step|i)$")
ACTIVATIONS = {"tanh": "sigmoid", "sigmoid": "tanh", "Tanh": "Sigmoid", "Sigmoid": "Tanh"}
SOFTMAX = {"softmax", "log_softmax"}
LOSSES = {"CrossEntropyLoss", "NLLLoss", "MSELoss", "BCELoss", "BCEWithLogitsLoss", "L1Loss"}
REDUCE = {"mean": "sum", "sum": "mean"}


@dataclass(frozen=True)
class Edit:
    """Replace the source from (line, col) to (end_line, end_col) (1-based lines,
    0-based UTF-8 byte columns, as ``ast`` gives them) with ``text``."""

    line: int
    col: int
    end_line: int
    end_col: int
    text: str
    fault: str  #: what the mutant does, in a student's terms

    @classmethod
    def over(cls, node: ast.AST, text: str, fault: str) -> Edit:
        return cls(
            node.lineno,  # type: ignore[attr-defined]
            node.col_offset,  # type: ignore[attr-defined]
            node.end_lineno,  # type: ignore[attr-defined]
            node.end_col_offset,  # type: ignore[attr-defined]
            text,
            fault,
        )


@dataclass(frozen=True)
class Mutant:
    """One fault put into one file of the reference."""

    id: str  #: ``operator:file:line:ordinal``, stable while the reference is unchanged
    operator: str
    fault: str
    file: str  #: the path inside the hand-in, as the spec's ``required`` names it
    line: int
    original: str  #: the file before
    source: str  #: the file after

    @property
    def kind(self) -> str:
        return "general" if self.operator in GENERAL else "fault"


def apply(source: str, edit: Edit) -> str:
    """``source`` with ``edit`` made (positions are byte offsets into UTF-8 lines)."""
    data = source.encode()
    starts = [0]
    for line in data.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    begin = starts[edit.line - 1] + edit.col
    end = starts[edit.end_line - 1] + edit.end_col
    return (data[:begin] + edit.text.encode() + data[end:]).decode()


class _Source:
    """A file's text and tree, with the helpers the operators share."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tree = ast.parse(source)
        self.torch = "torch" in _imports(self.tree)
        self.numpy = "numpy" in _imports(self.tree) and not self.torch
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                child._audit_parent = parent  # type: ignore[attr-defined]
        self.names = {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)}

    def text(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""

    def grouped(self, node: ast.AST) -> str:
        """The node's text, in parentheses unless it is a single operand."""
        text = self.text(node)
        simple = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)
        return text if isinstance(node, simple) else f"({text})"

    def gap(self, left: ast.AST, right: ast.AST) -> tuple[Edit, str] | None:
        """The source between two sibling nodes (where an operator sits), as an edit
        span with its current text."""
        span = Edit(
            left.end_lineno,  # type: ignore[attr-defined]
            left.end_col_offset,  # type: ignore[attr-defined]
            right.lineno,  # type: ignore[attr-defined]
            right.col_offset,  # type: ignore[attr-defined]
            "",
            "",
        )
        data = self.source.encode().splitlines(keepends=True)
        if span.line == span.end_line:
            between = data[span.line - 1][span.col : span.end_col]
        else:
            between = (
                data[span.line - 1][span.col :]
                + b"".join(data[span.line : span.end_line - 1])
                + data[span.end_line - 1][: span.end_col]
            )
        return span, between.decode()


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def _last_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _parents(node: ast.AST) -> Iterator[ast.AST]:
    parent: ast.AST | None = getattr(node, "_audit_parent", None)
    while parent is not None:
        yield parent
        parent = getattr(parent, "_audit_parent", None)


def _in_function(node: ast.AST) -> ast.FunctionDef | None:
    return next((p for p in _parents(node) if isinstance(p, ast.FunctionDef)), None)


def _in_loop(node: ast.AST) -> bool:
    for p in _parents(node):
        if isinstance(p, ast.For | ast.While):
            return True
        if isinstance(p, ast.FunctionDef):
            return False
    return False


def _in_class(node: ast.AST, pattern: str) -> bool:
    return any(
        isinstance(p, ast.ClassDef) and re.search(pattern, p.name, re.I) for p in _parents(node)
    )


# -- the fault operators --------------------------------------------------------------


def sigmoid_tanh(src: _Source) -> Iterator[Edit]:
    for node in ast.walk(src.tree):
        if not isinstance(node, ast.Call):
            continue
        name = _last_name(node.func)
        if name not in ACTIVATIONS:
            continue
        func = node.func
        owner = func.value if isinstance(func, ast.Attribute) else None
        if owner is not None and _last_name(owner) in ("np", "numpy") and node.args:
            if name == "tanh":  # numpy has no sigmoid: write it out, as students do
                arg = src.text(node.args[0])
                yield Edit.over(node, f"1 / (1 + np.exp(-({arg})))", "sigmoid where tanh belongs")
            continue
        swapped = ACTIVATIONS[name]
        if isinstance(func, ast.Attribute):
            text = f"{src.text(func.value)}.{swapped}"
        else:
            text = swapped if swapped in src.names or not src.torch else f"torch.{swapped}"
        yield Edit.over(func, text, f"{swapped} where {name} belongs")


def swap_gates(src: _Source) -> Iterator[Edit]:
    for node in ast.walk(src.tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Tuple)
            and isinstance(node.value, ast.Call)
            and _last_name(node.value.func) in ("chunk", "split", "hsplit", "array_split")
        ):
            elts = node.targets[0].elts
            if len(elts) >= 3 and all(isinstance(e, ast.Name) for e in elts):
                a, b = elts[0], elts[1]
                yield Edit.over(
                    node.targets[0],
                    ", ".join(src.text(e) for e in [b, a, *elts[2:]]),
                    f"gates {src.text(a)} and {src.text(b)} exchanged in the split",
                )
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = _last_name(node.targets[0])
            if not (C_NAME.match(target) or H_NAME.match(target)):
                continue
            gates = [
                n for n in ast.walk(node.value) if isinstance(n, ast.Name) and GATE_NAME.match(n.id)
            ]
            ids = list(dict.fromkeys(g.id for g in gates))
            # two gates multiplied together are not a fault when exchanged (g * i is i * g)
            together = {
                frozenset((n.left.id, n.right.id))
                for n in ast.walk(node.value)
                if isinstance(n, ast.BinOp)
                and isinstance(n.op, ast.Mult)
                and isinstance(n.left, ast.Name)
                and isinstance(n.right, ast.Name)
            }
            pairs = [(a, b) for a, b in zip(ids, ids[1:], strict=False)]
            for one, two in (p for p in pairs if frozenset(p) not in together):
                # exchange every use of a and b in the statement's value (one line)
                text = src.text(node.value)
                value_edits = sorted(
                    (g for g in gates if g.id in (one, two)),
                    key=lambda g: (g.lineno, g.col_offset),
                    reverse=True,
                )
                line0, col0 = node.value.lineno, node.value.col_offset
                data = text.encode()
                for g in value_edits:
                    if g.lineno != line0:
                        break
                    start = g.col_offset - col0
                    data = (
                        data[:start]
                        + (two if g.id == one else one).encode()
                        + data[start + len(g.id) :]
                    )
                else:
                    yield Edit.over(
                        node.value, data.decode(), f"gates {one} and {two} exchanged in {target}"
                    )


def transpose_weight(src: _Source) -> Iterator[Edit]:
    for node in ast.walk(src.tree):
        operands: list[ast.expr] = []
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            operands = [node.left, node.right]
        elif isinstance(node, ast.Call) and _last_name(node.func) in ("dot", "matmul", "mm"):
            operands = list(node.args)
        for op in operands:
            if isinstance(op, ast.Attribute) and op.attr == "T":
                if WEIGHT_NAME.match(_last_name(op.value)):
                    yield Edit.over(op, src.text(op.value), f"{src.text(op.value)} not transposed")
            elif WEIGHT_NAME.match(_last_name(op)) and isinstance(op, ast.Name | ast.Attribute):
                yield Edit.over(op, f"{src.text(op)}.T", f"{src.text(op)} transposed")


def drop_bias(src: _Source) -> Iterator[Edit]:
    for node in ast.walk(src.tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            for keep, bias in ((node.left, node.right), (node.right, node.left)):
                if isinstance(bias, ast.Name | ast.Attribute) and BIAS_NAME.match(_last_name(bias)):
                    yield Edit.over(node, src.grouped(keep), f"bias {src.text(bias)} left out")
        if (
            isinstance(node, ast.keyword)
            and node.arg == "bias"
            and isinstance(node.value, ast.Constant)
            and node.value.value is True
        ):
            yield Edit.over(node.value, "False", "layer built without its bias")


def no_cell_carry(src: _Source) -> Iterator[Edit]:
    for node in ast.walk(src.tree):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1 or not _in_loop(node):
            continue
        target = node.targets[0]
        if C_NAME.match(_last_name(target)) and isinstance(target, ast.Name | ast.Attribute):
            yield Edit.over(node, "pass", f"{src.text(target)} not carried to the next step")
        elif isinstance(target, ast.Tuple):
            for elt in target.elts:
                if isinstance(elt, ast.Name) and C_NAME.match(elt.id):
                    yield Edit.over(elt, "_", f"{elt.id} not carried to the next step")


def detach_hidden(src: _Source) -> Iterator[Edit]:
    if not src.torch:
        return
    for node in ast.walk(src.tree):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        fn = _in_function(node)
        if fn is None or fn.name != "forward" or not _in_loop(node):
            continue
        target = node.targets[0]
        if (
            isinstance(target, ast.Name)
            and H_NAME.match(target.id)
            and _last_name(getattr(node.value, "func", node.value)) != "detach"
        ):
            text = f"{src.grouped(node.value)}.detach()"
            yield Edit.over(node.value, text, f"{target.id} detached in the loop")


def keep_graph(src: _Source) -> Iterator[Edit]:
    if not src.torch:
        return
    for node in ast.walk(src.tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "detach"
            and not node.args
        ):
            parent = getattr(node, "_audit_parent", None)
            if isinstance(parent, ast.Assign) and any(
                H_NAME.match(_last_name(t)) or C_NAME.match(_last_name(t)) for t in parent.targets
            ):
                yield Edit.over(node, src.text(node.func.value), "state carried without .detach()")


def h_for_c(src: _Source) -> Iterator[Edit]:
    for node in ast.walk(src.tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and C_NAME.match(node.id):
            h = "h" + node.id[1:] if node.id.startswith("c") else "hidden"
            if h in src.names:
                yield Edit.over(node, h, f"{h} used where {node.id} belongs")


def off_by_one_time(src: _Source) -> Iterator[Edit]:
    for node in ast.walk(src.tree):
        if isinstance(node, ast.Subscript):
            index = node.slice
            if (
                isinstance(index, ast.BinOp)
                and isinstance(index.op, ast.Sub | ast.Add)
                and isinstance(index.right, ast.Constant)
                and index.right.value == 1
                and isinstance(index.left, ast.Name)
                and TIME_NAME.match(index.left.id)
            ):
                yield Edit.over(
                    index, index.left.id, f"step {index.left.id} read for {src.text(index)}"
                )
        if (
            isinstance(node, ast.For)
            and isinstance(node.iter, ast.Call)
            and _last_name(node.iter.func) == "range"
            and len(node.iter.args) == 1
        ):
            arg = node.iter.args[0]
            yield Edit.over(arg, f"{src.grouped(arg)} - 1", "the loop stops one step short")


def softmax_twice(src: _Source) -> Iterator[Edit]:
    for node in ast.walk(src.tree):
        if isinstance(node, ast.Call) and _last_name(node.func) in SOFTMAX and node.args:
            func = src.text(node.func)
            rest = "".join(f", {src.text(a)}" for a in node.args[1:])
            rest += "".join(f", {src.text(k)}" for k in node.keywords)
            inner = f"{func}({src.text(node.args[0])}{rest})"
            yield Edit.over(node.args[0], inner, "softmax applied twice")
        if (
            src.torch
            and isinstance(node, ast.Return)
            and node.value is not None
            and (fn := _in_function(node)) is not None
            and fn.name == "forward"
            and not _in_class(node, "gen|disc")
        ):
            first = node.value.elts[0] if isinstance(node.value, ast.Tuple) else node.value
            yield Edit.over(
                first,
                f"torch.softmax({src.text(first)}, dim=-1)",
                "forward returns probabilities where the loss expects logits",
            )


def loss_reduction(src: _Source) -> Iterator[Edit]:
    for node in ast.walk(src.tree):
        if isinstance(node, ast.keyword) and node.arg == "reduction":
            if isinstance(node.value, ast.Constant) and node.value.value in REDUCE:
                new = REDUCE[node.value.value]
                yield Edit.over(node.value, repr(new), f"the loss reduced by {new}")
        elif isinstance(node, ast.Call) and _last_name(node.func) in LOSSES:
            if not any(k.arg == "reduction" for k in node.keywords):
                args = [src.text(a) for a in node.args] + [src.text(k) for k in node.keywords]
                args.append("reduction='sum'")
                text = f"{src.text(node.func)}({', '.join(args)})"
                yield Edit.over(node, text, "the loss summed, not averaged")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in REDUCE
            and _last_name(node.func.value) in ("np", "torch", "numpy")
            and isinstance(parent := getattr(node, "_audit_parent", None), ast.Assign | ast.Return)
            and re.search(
                "loss|err",
                " ".join(_last_name(t) for t in getattr(parent, "targets", [])) or "loss",
                re.I,
            )
        ):
            new = REDUCE[node.func.attr]
            yield Edit.over(node.func, f"{src.text(node.func.value)}.{new}", f"loss by {new}")


def generator_no_output(src: _Source) -> Iterator[Edit]:
    for node in ast.walk(src.tree):
        if not _in_class(node, "gen"):
            continue
        if isinstance(node, ast.Call) and _last_name(node.func) in ("Tanh", "Sigmoid"):
            yield Edit.over(node, "nn.Identity()", "generator without its output non-linearity")
        elif (
            isinstance(node, ast.Return)
            and isinstance(node.value, ast.Call)
            and _last_name(node.value.func) in ("tanh", "sigmoid")
            and node.value.args
        ):
            yield Edit.over(
                node.value,
                src.text(node.value.args[0]),
                "generator without its output non-linearity",
            )


def backward_term_missing(src: _Source) -> Iterator[Edit]:
    if not src.numpy:
        return
    for node in ast.walk(src.tree):
        if _in_function(node) is None:
            continue
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = _last_name(node.targets[0])
            value = node.value
            if (
                target.startswith("d")
                and isinstance(value, ast.BinOp)
                and isinstance(value.op, ast.Add | ast.Sub)
            ):
                yield Edit.over(
                    value, src.grouped(value.left), f"{target} without {src.text(value.right)}"
                )
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            target = _last_name(node.target)
            if target.startswith("d"):
                yield Edit.over(node, "pass", f"{target} never gets {src.text(node.value)}")


# -- the general operators -------------------------------------------------------------

ARITH = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*")}
COMPARE = {
    ast.Lt: ("<", "<="),
    ast.LtE: ("<=", "<"),
    ast.Gt: (">", ">="),
    ast.GtE: (">=", ">"),
    ast.Eq: ("==", "!="),
    ast.NotEq: ("!=", "=="),
}


def _swap_in_gap(src: _Source, left: ast.AST, right: ast.AST, old: str, new: str) -> Edit | None:
    found = src.gap(left, right)
    if found is None:
        return None
    span, between = found
    # the operator is the gap's only non-bracket, non-space text
    if between.replace("(", "").replace(")", "").strip() != old:
        return None
    return Edit(span.line, span.col, span.end_line, span.end_col, between.replace(old, new, 1), "")


def arithmetic(src: _Source) -> Iterator[Edit]:
    for node in ast.walk(src.tree):
        if isinstance(node, ast.BinOp) and type(node.op) in ARITH and _in_function(node):
            old, new = ARITH[type(node.op)]
            edit = _swap_in_gap(src, node.left, node.right, old, new)
            if edit is not None:
                yield Edit(*_span(edit), f"{new} for {old}")


def comparison(src: _Source) -> Iterator[Edit]:
    for node in ast.walk(src.tree):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and _in_function(node):
            kind = type(node.ops[0])
            if kind in COMPARE:
                old, new = COMPARE[kind]
                edit = _swap_in_gap(src, node.left, node.comparators[0], old, new)
                if edit is not None:
                    yield Edit(*_span(edit), f"{new} for {old}")


def _span(edit: Edit) -> tuple[int, int, int, int, str]:
    return edit.line, edit.col, edit.end_line, edit.end_col, edit.text


Operator = Callable[[_Source], Iterator[Edit]]

FAULTS: Mapping[str, Operator] = {
    "sigmoid-tanh": sigmoid_tanh,
    "swap-gates": swap_gates,
    "transpose-weight": transpose_weight,
    "drop-bias": drop_bias,
    "no-cell-carry": no_cell_carry,
    "detach-hidden": detach_hidden,
    "keep-graph": keep_graph,
    "h-for-c": h_for_c,
    "off-by-one-time": off_by_one_time,
    "softmax-twice": softmax_twice,
    "loss-reduction": loss_reduction,
    "generator-no-output": generator_no_output,
    "backward-term-missing": backward_term_missing,
}
GENERAL: Mapping[str, Operator] = {"arithmetic": arithmetic, "comparison": comparison}
OPERATORS: Mapping[str, Operator] = {**FAULTS, **GENERAL}


def student_lines(template: str, reference: str) -> set[int]:
    """The reference's lines (1-based) that are not the template's: the code the student
    writes.  The rest is the hand-out's own code, which the student is not asked to
    change and the grader need not check."""
    matcher = difflib.SequenceMatcher(
        None, template.splitlines(), reference.splitlines(), autojunk=False
    )
    return {
        line + 1
        for tag, _, _, start, end in matcher.get_opcodes()
        if tag in ("replace", "insert")
        for line in range(start, end)
    }


def mutants(
    files: Mapping[str, str],
    operators: Mapping[str, Operator] = OPERATORS,
    lines: Mapping[str, set[int]] | None = None,
) -> list[Mutant]:
    """Every mutant of ``files`` (hand-in path -> source): one per edit an operator
    proposes, in file, operator and position order.  Edits that do not change the source,
    or give a file Python cannot parse, are left out; so is a second edit with the same
    result.  ``lines`` (path -> line numbers) keeps only edits within those lines of the
    files it names (``student_lines``)."""
    found: list[Mutant] = []
    for path, original in files.items():
        src = _Source(original)
        seen = {original}
        allowed = lines.get(path) if lines is not None else None
        for name, operator in operators.items():
            per_line: dict[int, int] = {}
            edits = sorted(set(operator(src)), key=lambda e: (e.line, e.col, e.text))
            for edit in edits:
                span = range(edit.line, edit.end_line + 1)
                if allowed is not None and not all(n in allowed for n in span):
                    continue
                mutated = apply(original, edit)
                if mutated in seen:
                    continue
                try:
                    ast.parse(mutated)
                except SyntaxError:
                    continue
                seen.add(mutated)
                per_line[edit.line] = per_line.get(edit.line, 0) + 1
                found.append(
                    Mutant(
                        id=f"{name}:{path}:{edit.line}:{per_line[edit.line]}",
                        operator=name,
                        fault=edit.fault,
                        file=path,
                        line=edit.line,
                        original=original,
                        source=mutated,
                    )
                )
    return found
