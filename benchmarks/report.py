"""Markdown for the results: one section (a table plus verdicts) per scenario."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    """One scenario's table, the target verdicts under it and its notes."""

    title: str
    intro: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        if self.intro:
            lines += [self.intro, ""]
        if self.header:
            lines.append("| " + " | ".join(self.header) + " |")
            lines.append("|" + "|".join("---" for _ in self.header) + "|")
            lines += ["| " + " | ".join(row) + " |" for row in self.rows]
            lines.append("")
        lines += [f"- {verdict}" for verdict in self.verdicts]
        lines += [f"- note: {note}" for note in self.notes]
        if self.verdicts or self.notes:
            lines.append("")
        return "\n".join(lines)


def number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio(numerator: float | None, denominator: float | None) -> str:
    """``numerator / denominator`` as ``1.23x``; a dash when either is missing or zero."""
    if not numerator or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}x"


def verdict(label: str, met: bool | None, detail: str) -> str:
    mark = "n/a" if met is None else ("met" if met else "**missed**")
    return f"{label}: {mark} ({detail})"
