"""What a screen reader gets from a page: Chromium's own accessibility tree.

Flutter mirrors its semantics tree into ``flt-semantics`` DOM nodes; Chromium computes
each node's role and accessible name from them (``aria-label``, the text inside, an
``<input>``'s label) exactly as it does for a screen reader. These helpers read that
computed tree over the DevTools protocol, so a check here fails for what a user would
hear, whatever the Python side meant to set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Roles a user operates: each must say what it is. A new control of any of these kinds
# is covered as soon as it is on screen; nothing here lists the app's controls.
INTERACTIVE = frozenset(
    {
        "button",
        "checkbox",
        "combobox",
        "link",
        "menuitem",
        "menuitemcheckbox",
        "menuitemradio",
        "option",
        "radio",
        "searchbox",
        "slider",
        "spinbutton",
        "switch",
        "tab",
        "textbox",
    }
)

# What a reader hears inside a node: its own label and text, and its descendants' labels
# (a handle's words often sit on the button inside it). A JS function of one element.
SPOKEN_JS = """(e => [e, ...e.querySelectorAll('[aria-label]')]
    .map(n => n.getAttribute('aria-label')).filter(Boolean).join(' ')
    + ' ' + e.innerText)"""


def spoken(loc: Any, timeout: float | None = None) -> str:
    """The words a reader says for a located node and what is inside it."""
    return str(loc.evaluate(SPOKEN_JS, timeout=timeout)).strip()


# Where an unnamed node is, for the failure message: its nearest handle and its box.
_WHERE = """function () {
    const handle = this.closest('[flt-semantics-identifier]');
    const r = this.getBoundingClientRect();
    return {
        handle: handle ? handle.getAttribute('flt-semantics-identifier') : null,
        text: (this.innerText || this.value || '').slice(0, 60),
        box: [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)],
    };
}"""


@dataclass(frozen=True)
class Node:
    role: str
    name: str
    description: str
    backend_id: int | None
    depth: int


_SKIP = frozenset({"none", "generic", "InlineTextBox", "LineBreak"})


def ax_nodes(page: Any) -> list[Node]:
    """The page's accessibility tree in reading order (depth first), ignored nodes left out
    (their children keep their place)."""
    cdp = page.context.new_cdp_session(page)
    try:
        raw = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    by_id = {n["nodeId"]: n for n in raw}
    nodes: list[Node] = []

    def visit(node_id: str, depth: int) -> None:
        n = by_id.get(node_id)
        if n is None:
            return
        shown = not n.get("ignored")
        if shown:
            nodes.append(
                Node(
                    role=str(n.get("role", {}).get("value") or ""),
                    name=str(n.get("name", {}).get("value") or "").strip(),
                    description=str(n.get("description", {}).get("value") or "").strip(),
                    backend_id=n.get("backendDOMNodeId"),
                    depth=depth,
                )
            )
        for child in n.get("childIds", []):
            visit(child, depth + 1 if shown else depth)

    roots = [n["nodeId"] for n in raw if not n.get("parentId")]
    for root in roots:
        visit(root, 0)
    return nodes


def _where(page: Any, node: Node) -> str:
    if node.backend_id is None:
        return "?"
    cdp = page.context.new_cdp_session(page)
    try:
        obj = cdp.send("DOM.resolveNode", {"backendNodeId": node.backend_id})["object"]
        found = cdp.send(
            "Runtime.callFunctionOn",
            {"objectId": obj["objectId"], "functionDeclaration": _WHERE, "returnByValue": True},
        )["result"]["value"]
    except Exception as error:  # the node went away meanwhile
        return f"gone ({error})"
    finally:
        cdp.detach()
    return f"under handle {found['handle']!r}, box {found['box']}, text {found['text']!r}"


def unnamed_controls(page: Any) -> list[str]:
    """Each interactive node with no accessible name, said with where it is."""
    return [
        f"{n.role} {_where(page, n)}"
        for n in ax_nodes(page)
        if n.role in INTERACTIVE and not n.name
    ]


def assert_all_named(page: Any, screen: str) -> None:
    """Fail, naming each one, when a control on the screen has no name a reader says."""
    missing = unnamed_controls(page)
    assert not missing, f"{screen}: controls without a name:\n  " + "\n  ".join(missing)


def outline(page: Any) -> str:
    """The tree as a reader walks it: role "name" — description, indented by depth; text
    that only repeats its parent's name is left out."""
    lines = []
    parents: list[str] = []
    for n in ax_nodes(page):
        del parents[n.depth :]
        parent = parents[-1] if parents else ""
        parents += [""] * (n.depth - len(parents)) + [n.name]
        text = n.role in ("StaticText", "InlineTextBox")
        if (n.role in _SKIP or text) and (not n.name or (text and n.name in parent)):
            continue
        extra = f" — {n.description}" if n.description else ""
        lines.append(f'{"  " * n.depth}{n.role} "{n.name}"{extra}')
    return "\n".join(lines)
