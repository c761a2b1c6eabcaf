"""Finding runs by their text: the code of the cells they recorded and their note.

The search text is split into words (a ``"quoted phrase"`` stays one); a run matches
when each word appears somewhere in its cells or its note, as a piece of text,
ignoring case: ``RandomForest`` finds ``RandomForestClassifier(max_depth=6)``,
``fit_transform`` and ``sklearn.ensemble`` match as written. Words of three
characters or more go through the trigram index (:mod:`~jupyter_mlops.registry.search_index`);
shorter ones, and every word on a registry without the index, scan the text.

User text never becomes SQL or FTS syntax: each word is bound as a parameter, and
inside the full-text query it is one quoted string, so ``OR``, ``NEAR``, ``*``,
quotes or parentheses are searched for like any other characters.

    search = TextSearch.parse('RandomForest "max_depth=6"')
    matching_run_ids(registry, search)       # ['3f2a...', ...]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidInputError
from ...registry.connection import Registry
from ...registry.search_index import has_index

MAX_SEARCH_CHARACTERS = 500
MAX_SEARCH_WORDS = 20
SHORTEST_INDEXED = 3  # the trigram index cannot find fewer characters

_WORD = re.compile(r'"([^"]*)"|(\S+)')


@dataclass(frozen=True)
class TextSearch:
    """A search of the runs' code and notes: the text as given, and its words."""

    text: str
    words: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> TextSearch:
        """Split ``text`` into words; a ``"quoted phrase"`` is one word, quotes removed.

        Example::

            TextSearch.parse('fit "max_depth=6" fit').words   # ('fit', 'max_depth=6')
        """
        if not isinstance(text, str):
            raise InvalidInputError(
                f"The code search takes text, got {type(text).__name__}",
                hint='For example code="RandomForest".',
            )
        if "\x00" in text:
            raise InvalidInputError(
                "The code search contains a NUL character",
                hint="Search for printable text, e.g. RandomForest.",
            )
        if len(text) > MAX_SEARCH_CHARACTERS:
            raise InvalidInputError(
                f"The code search has {len(text):,} characters; at most"
                f" {MAX_SEARCH_CHARACTERS} are searched",
                hint="Search for a name or a call, e.g. RandomForest or fit_transform.",
            )
        words: list[str] = []
        for match in _WORD.finditer(text):
            word = match.group(1) if match.group(1) is not None else match.group(2)
            if word.strip() and word not in words:
                words.append(word)
        if not words:
            raise InvalidInputError(
                "The code search is empty",
                hint='Give a name or a call to look for, e.g. --code "RandomForest".',
            )
        if len(words) > MAX_SEARCH_WORDS:
            raise InvalidInputError(
                f"The code search has {len(words)} words; at most {MAX_SEARCH_WORDS} are searched",
                hint='Quote a phrase to search it as one: "for epoch in range".',
            )
        return cls(text, tuple(words))

    def describe(self) -> str:
        """The search in words, e.g. ``code or note containing "fit" and "RandomForest"``."""
        return "code or note containing " + " and ".join(f'"{word}"' for word in self.words)


def matching_run_ids(registry: Registry, search: TextSearch) -> list[str]:
    """The ids of the runs whose cells or note contain every word of ``search``.

    One query, run before the listing's own: the index answers first, and the listing
    then joins on these ids instead of searching again for its page and its count.
    """
    indexed = _indexed(registry)
    parts: list[str] = []
    params: list[Any] = []
    for word in search.words:
        if indexed and len(word) >= SHORTEST_INDEXED:
            phrase = '"' + word.replace('"', '""') + '"'
            parts.append(
                "SELECT code_cells.run_id FROM code_cells_fts"
                " JOIN code_cells ON code_cells.rowid = code_cells_fts.rowid"
                " WHERE code_cells_fts MATCH ?"
                " UNION SELECT run_notes.run_id FROM run_notes_fts"
                " JOIN run_notes ON run_notes.rowid = run_notes_fts.rowid"
                " WHERE run_notes_fts MATCH ?"
            )
            params += [phrase, phrase]
        else:
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", word) + "%"
            parts.append(
                "SELECT run_id FROM code_cells WHERE source LIKE ? ESCAPE '\\'"
                " UNION SELECT run_id FROM run_notes WHERE note LIKE ? ESCAPE '\\'"
            )
            params += [pattern, pattern]
    sql = " INTERSECT ".join(f"SELECT run_id FROM ({part})" for part in parts)
    return [row[0] for row in registry.query_tuples(sql, params)]


def _indexed(registry: Registry) -> bool:
    """Whether the registry has the full-text index; asked once per opened registry."""
    key = ("search", "indexed")
    known = registry.recall(key)
    if known is None:
        known = int(has_index(registry.conn))
        registry.remember(key, known)
    return bool(known)


@dataclass(frozen=True)
class NoMatch:
    """What to tell someone whose filters found no run: the line, and what to try."""

    message: str
    hint: str


def no_match(
    *, experiment: str | None = None, where: str | None = None, code: str | None = None
) -> NoMatch:
    """The message for a list of runs that came back empty, naming each filter used.

    Example::

        no_match(code="RandomForest").message
        # 'No run matches: code or note containing "RandomForest".'
    """
    filters = []
    if where:
        filters.append(f"where {where}")
    if code:
        try:
            filters.append(TextSearch.parse(code).describe())
        except InvalidInputError:
            filters.append(f"code {code!r}")
    scope = f' in experiment "{experiment}"' if experiment else ""
    if not filters:
        return NoMatch(
            f"No runs recorded{scope} yet",
            "Record one with %%mlops run NAME, or mlops.start_run() in a script.",
        )
    if code:
        hint = (
            "The search looks for each word as a piece of the recorded cells' code or the"
            " note, ignoring case: try a shorter piece (RandomForest, not RandomForest())"
            " or fewer words."
        )
    else:
        hint = "Loosen or drop the filter; %mlops runs lists every run."
    return NoMatch(f"No run{scope} matches: {', '.join(filters)}.", hint)
