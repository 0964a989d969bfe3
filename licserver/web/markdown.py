"""Release notes as Markdown, with HTML escaped: CommonMark through
markdown-it-py with raw HTML off, so ``<script>`` in notes is shown as text
and never runs; links keep only the schemes markdown-it-py deems safe."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from markupsafe import Markup

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


@cache
def _md() -> MarkdownIt:
    """The parser, made (and markdown-it-py imported) by the first notes shown."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render_notes(text: str | None) -> Markup:
    """The notes as HTML safe to put in a page."""
    if not text:
        return Markup("")
    return Markup(_md().render(text))  # noqa: S704 - raw HTML disabled: every tag is escaped
