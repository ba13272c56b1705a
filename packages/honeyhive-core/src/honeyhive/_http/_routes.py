"""Route templates in one form: ``/users/{user_id}``, whatever framework they came from.

Flask/Werkzeug ``/users/<int:user_id>``, Starlette ``/users/{user_id:int}``, Django
``users/<int:pk>/`` and ``re_path`` / DRF regexes ``^api/users/(?P<pk>[^/.]+)/$`` all become
``/users/{user_id}`` or ``/api/users/{pk}/``: a leading slash, ``{name}`` placeholders, no regex.
"""

from __future__ import annotations

import functools
import re

__all__ = ["normalize_route"]

_ANGLE = re.compile(r"<(?:[A-Za-z_][A-Za-z0-9_]*(?:\([^)]*\))?:)?([A-Za-z_][A-Za-z0-9_]*)>")
_BRACE_CONVERTER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):[^}]*\}")
_ESCAPED = re.compile(r"\\(.)")


def _replace_groups(pattern: str) -> str:
    """Replace each top-level regex group with ``{name}`` (``{param}`` when unnamed)."""
    out: list[str] = []
    index = 0
    unnamed = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if char != "(":
            out.append(char)
            index += 1
            continue
        depth = 0
        end = index
        while end < len(pattern):
            if pattern[end] == "\\":
                end += 2
                continue
            if pattern[end] == "(":
                depth += 1
            elif pattern[end] == ")":
                depth -= 1
                if depth == 0:
                    break
            end += 1
        group = pattern[index : end + 1]
        named = re.match(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>", group)
        if named:
            out.append("{" + named.group(1) + "}")
        elif group.startswith("(?"):
            # A non-capturing or flag group (e.g. DRF's optional format suffix) is dropped,
            # with the quantifier that made it optional.
            if end + 1 < len(pattern) and pattern[end + 1] in "?*+":
                end += 1
        else:
            unnamed += 1
            out.append("{param}" if unnamed == 1 else f"{{param{unnamed}}}")
        index = end + 1
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def normalize_route(template: str) -> str:
    """The ``http.route`` form of a framework's route template (cached: templates repeat)."""
    route = template.strip()
    if route.startswith("^") or route.endswith("$") or "(?P<" in route or "(" in route:
        route = route.lstrip("^").rstrip("$")
        route = _replace_groups(route)
        route = route.replace("/?", "").replace("?", "")  # an optional trailing slash
        route = _ESCAPED.sub(r"\1", route)
    route = _ANGLE.sub(r"{\1}", route)
    route = _BRACE_CONVERTER.sub(r"{\1}", route)
    if not route.startswith("/"):
        route = "/" + route
    while "//" in route:
        route = route.replace("//", "/")
    return route
