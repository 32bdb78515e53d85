"""Turn a model's reply into a module (Python) or a program (another language) the sandbox can run.

``extract_code`` is pure and never raises: a reply with no usable code comes back as whatever
text is the best guess, and the tests then judge it (a bad reply is data, not an error).
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

from codemend import pysource
from codemend.languages import LanguageName, language

_PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3", "pycon", "ipython"})
_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<tag>[\w+.-]*)")
_CODE_START = re.compile(
    r"^(from\s+\w|import\s+\w|(async\s+)?def\s+\w|class\s+\w|@\w|#|if\s|for\s|while\s|try:"
    r"|with\s|[A-Za-z_][\w.]*\s*(\[.*\])?\s*[:+\-*/]?=[^=])"
)
_DEFINITION = re.compile(r"(async\s+def|def|class)\s|@")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Block:
    code: str
    tag: str


def extract_code(
    reply: str,
    entry_point: str | None = None,
    prompt: str | None = None,
    *,
    lang: LanguageName = "python",
) -> str:
    """The code in ``reply``, as a module that defines ``entry_point`` when it can.

    Another language than Python (``lang``): the longest block tagged with that language's name
    (```cpp, ```c++), else the longest untagged one, else the longest of any tag (a reply in
    another language is then judged as written, and the critic says what it is written in);
    a reply without fences is taken whole.

    Handles fenced blocks (```python, ```py, bare ```, cut off by ``max_tokens``), several
    blocks (the last one defining ``entry_point`` wins; imports and helpers it uses from the others
    are kept), prose around the code, example calls after it, and replies that are only an
    indented function body: with ``prompt`` (the problem's code, e.g. HumanEval's signature and
    docstring) such a body is appended to it, and the prompt's imports and helpers are added to
    a reply that defines the entry point itself.
    """
    reply = reply.replace("\r\n", "\n").expandtabs(4)
    if not reply.strip():
        return ""
    blocks = _fenced_blocks(reply)
    if lang != "python":
        return _pick_program(blocks, lang) if blocks else reply.strip("\n") + "\n"
    code = _pick(blocks, entry_point) if blocks else _strip_prose(reply)
    if entry_point is not None:
        code = _drop_top_level_noise(code)
    if prompt is not None and entry_point is not None:
        code = _with_prompt(code, prompt, entry_point)
    return code.strip("\n") + "\n"


def _fenced_blocks(reply: str) -> list[_Block]:
    blocks: list[_Block] = []
    lines: list[str] | None = None
    fence = tag = ""
    for line in reply.split("\n"):
        opening = _OPEN.match(line)
        if lines is not None and opening and opening["tag"]:  # unclosed block, new one opens
            blocks.append(_Block(code="\n".join(lines).strip("\n"), tag=tag))
            lines = None
        if lines is None:
            if opening:
                lines, fence, tag = [], opening["fence"], opening["tag"].lower()
            continue
        stripped = line.rstrip()
        if stripped.lstrip().startswith(fence) or stripped.endswith(fence):
            lines.append(stripped[: stripped.rfind(fence)] if not _is_fence(line) else "")
            blocks.append(_Block(code="\n".join(lines).strip("\n"), tag=tag))
            lines = None
        else:
            lines.append(line)
    if lines is not None:  # cut off before the closing fence
        blocks.append(_Block(code="\n".join(lines).strip("\n"), tag=tag))
    return [b for b in blocks if b.code.strip()]


def _is_indented(line: str) -> bool:
    return line[:1] in (" ", "\t") and bool(line.strip())


def _is_fence(line: str) -> bool:
    return bool(re.fullmatch(r"[ \t]*(`{3,}|~{3,})[ \t]*", line))


def _pick(blocks: list[_Block], entry_point: str | None) -> str:
    python = [b.code for b in blocks if b.tag in _PYTHON_TAGS] or [b.code for b in blocks]
    defining = [i for i, c in enumerate(python) if entry_point and _defines(c, entry_point)]
    chosen = defining[-1] if defining else max(range(len(python)), key=lambda i: len(python[i]))
    main = _parseable_prefix(python[chosen])
    others = [_parseable_prefix(c) for i, c in enumerate(python) if i != chosen]
    helpers = _needed_from(others, main, skip=entry_point)
    return "\n\n".join([*helpers, main]) if helpers else main


def _pick_program(blocks: list[_Block], lang: LanguageName) -> str:
    tags = language(lang).tags
    chosen = [b for b in blocks if b.tag in tags] or [b for b in blocks if not b.tag] or blocks
    return max((b.code for b in chosen), key=len).strip("\n") + "\n"


def _defines(code: str, name: str) -> bool:
    return re.search(rf"^[ \t]*(async\s+)?def\s+{re.escape(name)}\s*\(", code, re.M) is not None


def _parse(code: str) -> ast.Module | None:
    try:
        return pysource.parse(code)[0]
    except (SyntaxError, ValueError):
        return None


def _compiles(code: str) -> bool:
    """Stricter than parsing: ``return`` outside a function parses but does not compile."""
    try:
        pysource.compile_warnings(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _segment(lines: list[str], node: ast.stmt) -> str:
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return "\n".join(lines[start - 1 : node.end_lineno])


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    return set()


def _needed_from(sources: list[str], main: str, *, skip: str | None) -> list[str]:
    """Imports and definitions from ``sources`` that ``main`` uses but does not define."""
    tree = _parse(main)
    if tree is None:
        return []
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    defined = set().union(*(_bound_names(node) for node in tree.body))
    wanted = (used - defined) - {skip}
    found: list[str] = []
    for source in sources:
        other = _parse(source)
        lines = source.split("\n")
        for node in other.body if other else []:
            names = _bound_names(node) & wanted
            if names and not isinstance(node, ast.Assign):
                found.append(_segment(lines, node))
                wanted -= names
    return found


def _strip_prose(reply: str) -> str:
    """Unfenced reply: start at the first code-looking line, end where the code stops parsing."""
    lines = [ln for ln in reply.split("\n") if not _is_fence(ln)]
    starts = (i for i, ln in enumerate(lines) if _CODE_START.match(ln) or _is_indented(ln))
    start = next(starts, 0)
    return _parseable_prefix("\n".join(lines[start:]).strip("\n"))


def _parseable_prefix(code: str) -> str:
    """``code`` if it parses; else its longest parseable prefix ending at a top-level line.

    Trailing prose or a cut-off example after the solution is dropped; code cut off inside a
    function is returned as is, so the truncation shows up as a syntax error, not a silent stub.
    """
    if _parse(code) is not None or code.startswith((" ", "\t")):
        return code
    lines = code.split("\n")
    for end in range(len(lines) - 1, 0, -1):
        if _DEFINITION.match(lines[end]):
            break
        if lines[end].strip() and not lines[end].startswith((" ", "\t", ")", "]", "}")):
            prefix = lines[:end]
            while prefix and (not prefix[-1].strip() or prefix[-1].startswith("#")):
                prefix.pop()  # the comment that introduced the cut-off example
            if _parse("\n".join(prefix)) is not None:
                return "\n".join(prefix)
    return code


def _drop_top_level_noise(code: str) -> str:
    """Remove example calls, prints, asserts and ``__main__`` blocks around a function."""
    tree = _parse(code)
    if tree is None:
        return code
    if not any(_is_noise(node) for node in tree.body):
        return code
    lines = code.split("\n")
    kept = [_segment(lines, node) for node in tree.body if not _is_noise(node)]
    return "\n\n".join(kept) if kept else code


def _is_noise(node: ast.stmt) -> bool:
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.Expr):
        return not isinstance(node.value, ast.Constant)
    if isinstance(node, ast.If):
        test = node.test
        return (
            isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
        )
    return False


def _with_prompt(code: str, prompt: str, entry_point: str) -> str:
    """Join the reply with the problem's code: a bare body goes under the prompt's signature;
    a full definition gets the prompt's imports and helpers it lacks."""
    is_body = code.startswith((" ", "\t")) or not _compiles(code)
    if is_body and not _defines(code, entry_point) and _defines(prompt, entry_point):
        head, indent = prompt.rstrip("\n") + "\n", _body_indent(prompt, entry_point)
        joined = [head + body for body in _bodies(code, indent)]
        for candidate in joined:
            if _compiles(candidate):
                return _drop_top_level_noise(candidate)
        if code.startswith((" ", "\t")):
            return joined[-1]
    tree, prompt_tree = _parse(code), _parse(prompt)
    if tree is None or prompt_tree is None:
        return code
    have = set().union(*(_bound_names(node) for node in tree.body))
    lines = prompt.split("\n")
    preamble = [
        _segment(lines, node)
        for node in prompt_tree.body
        if (names := _bound_names(node)) and entry_point not in names and not names <= have
    ]
    return "\n\n".join([*preamble, code])


def _body_indent(prompt: str, entry_point: str) -> str:
    lines = prompt.split("\n")
    for i, line in enumerate(lines):
        if re.match(rf"[ \t]*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", line):
            own = len(line) - len(line.lstrip())
            for after in lines[i + 1 :]:
                indent = len(after) - len(after.lstrip())
                if after.strip() and indent > own:
                    return after[:indent]
            return " " * (own + 4)
    return "    "


def _bodies(code: str, indent: str) -> list[str]:
    """Ways to read ``code`` as the body of the prompt's function, most literal first: as is (a
    HumanEval completion), with a first line that lost its indentation to ``.strip()`` restored,
    and re-indented to the prompt's indentation."""
    lines = code.split("\n")
    variants = [code] if code.startswith((" ", "\t")) else []
    rest = [ln for ln in lines[1:] if ln.strip()]
    if rest and not lines[0].startswith((" ", "\t")):
        common = min(len(ln) - len(ln.lstrip()) for ln in rest)
        if common > 0:
            variants.append(_reindent(" " * common + code, indent))
    variants.append(_reindent(code, indent))
    return variants


def _reindent(code: str, indent: str) -> str:
    return textwrap.indent(textwrap.dedent(code), indent)
