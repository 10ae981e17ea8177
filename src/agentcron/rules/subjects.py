"""Subject filters: a schedule's ``subjects`` glob (``user:*``, ``team:?``) as the stores
match it (SQLite: ``GLOB``; PostgreSQL: ``LIKE`` with `glob_to_like`)."""

from __future__ import annotations

__all__ = ["glob_to_like"]


def glob_to_like(glob: str) -> str:
    """A subject glob (``*``, ``?``) as a LIKE pattern with ``\\`` as escape (PostgreSQL).

    Bracket classes (``[ab]``) have no LIKE equivalent and match literally there.
    """
    out = []
    for ch in glob:
        if ch in "\\%_":
            out.append("\\" + ch)
        elif ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        else:
            out.append(ch)
    return "".join(out)
