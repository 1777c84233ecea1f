"""What a field's selection asks for below it, read off the document (no execution)."""

from __future__ import annotations

from graphql import FieldNode, FragmentSpreadNode, SelectionSetNode

from ccm_gateway.graphql.common import CtxInfo


def names_below(info: CtxInfo) -> set[str]:
    """Every field name selected anywhere below the current field, through fragments and
    inline fragments, whatever their type conditions and directives (a superset)."""
    raw = info._raw_info
    names: set[str] = set()
    seen: set[str] = set()
    stack: list[SelectionSetNode] = [n.selection_set for n in raw.field_nodes
                                     if n.selection_set is not None]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = raw.fragments.get(name)
                if fragment is not None and name not in seen:
                    seen.add(name)
                    stack.append(fragment.selection_set)
                continue
            selection_set = getattr(selection, "selection_set", None)
            if selection_set is not None:
                stack.append(selection_set)
    return names
