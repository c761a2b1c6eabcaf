"""Secrets are never recorded: parameters, tags and code are stored with them redacted.

A value is withheld when its **name** says it is a secret or when its **text** is shaped
like a credential. What is stored instead says why, so every view shows the reason:

    >>> redact_param("db_password", "hunter2")
    Withheld(reason='the name contains "password"')
    >>> redact_param("headers", {"Authorization": "Bearer ghp_" + 36 * "a"})
    {'Authorization': 'redacted: looks like a GitHub token'}
    >>> redact_param("lr", 0.1)
    0.1

Names are split into words at ``_ - . __`` and spaces, at camelCase humps and at digits
(``githubToken`` → github, token; ``APIKey`` → api, key). A name is secret when a word is:

- password, passwd, passphrase, secret, credential (or their plurals), also inside a
  word (``dbpassword``, ``clientsecret``);
- key or token, alone or glued to a qualifier (``apikey``, ``authtoken``), unless the word
  before says what kind of key it is not (``sort_key``, ``join_key``, ``public_key``,
  ``pad_token``, ``eos_token``); the plurals keys and tokens only after a qualifier
  (``api_keys``), since ``n_keys`` and ``max_tokens`` are counts;

and no word after it says the value is only about a secret (``secret_name``,
``token_url``, ``key_column``, ``password_length``). Numbers, booleans and ``None`` are
kept whatever the name (``key_size = 2048``, ``use_token = True``): they are sizes, counts
and switches, not credentials.

Text is withheld when it contains an API key of a known shape (OpenAI-style ``sk-``,
Stripe ``sk_live_``/``rk_live_``, AWS ``AKIA``, GitHub ``ghp_``/``github_pat_``, Slack
``xox?-``, Google ``AIza``, Hugging Face ``hf_``), a JSON Web Token, a PEM private key, a
URL with a password (``scheme://user:pass@host``) or a URL whose query gives a value to a
secret's name (``?token=...``, ``&api_key=...``).

There is no switch to turn this off: a registry is copied, merged and pushed to shared
servers, and a recorded secret cannot be taken back, while a value withheld by mistake is
one rename away (the rules read names, and the reason says which word matched).
"""

from __future__ import annotations

import functools
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REDACTED_TYPE = "redacted"
"""The ``type`` of a parameter whose whole value was withheld; its value is the reason."""

PREFIX = "redacted: "

# Containers deeper than this are withheld whole rather than walked.
_MAX_DEPTH = 64

# The words of a name that make it secret, with the word the reason shows.
_STRONG = {
    "password": "password",
    "passwords": "password",
    "passwd": "passwd",
    "passphrase": "passphrase",
    "secret": "secret",
    "secrets": "secret",
    "credential": "credential",
    "credentials": "credential",
}
_STRONG_INSIDE = ("password", "passwd", "passphrase", "credential")
_WEAK = {"key": "key", "token": "token", "keys": "key", "tokens": "token"}

# Words that make a following key or token secret: api_key, access_token, apikey.
_QUALIFIERS = frozenset(
    "api access secret private auth client session bearer refresh signing encryption"
    " license licence master service app pass personal oauth".split()
)

# Words before a key or token that say it is not a credential.
_NOT_BEFORE = {
    "key": frozenset(
        "sort join primary foreign partition group groupby cache dict index merge lookup"
        " rng prng random row column col unique composite shard hash order natural"
        " surrogate map public metric target label".split()
    ),
    "token": frozenset(
        "pad padding eos bos unk unknown sep cls mask start end stop special begin sos eot"
        " image audio video".split()
    ),
}

# Words after a secret word that say the value only names, locates or measures it.
_NOT_AFTER = frozenset(
    "name names id ids path paths file files filename dir url uri endpoint env var"
    " variable header param length len size count limit budget type types column columns"
    " col cols field fields prefix format policy dim index position pos".split()
)

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SEPARATOR = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class Withheld:
    """A value not recorded, and why: stored as ``redacted: <reason>``."""

    reason: str

    @property
    def text(self) -> str:
        return PREFIX + self.reason


def name_words(name: str) -> list[str]:
    """The lower-case words of a name: ``aws_secretAccessKey`` → aws, secret, access, key."""
    return [w.lower() for part in _SEPARATOR.split(name) for w in _WORD.findall(part)]


@functools.lru_cache(maxsize=4096)
def secret_word(name: str) -> str | None:
    """The word that makes ``name`` a secret's name (``"password"``), or ``None``.

    >>> secret_word("db_password"), secret_word("githubToken"), secret_word("n_keys")
    ('password', 'token', None)
    """
    words = name_words(name)
    for at, word in enumerate(words):
        if at + 1 < len(words) and words[at + 1] in _NOT_AFTER:
            continue
        found = _secret_in(word, words[at - 1] if at else None)
        if found is not None:
            return found
    return None


def _secret_in(word: str, before: str | None) -> str | None:
    strong = _STRONG.get(word)
    if strong is not None:
        return strong
    weak = _WEAK.get(word)
    if weak is not None:
        if before in _QUALIFIERS:
            return weak
        if word == weak and before not in _NOT_BEFORE[weak]:
            return weak
        return None
    for inside in _STRONG_INSIDE:
        if inside in word:
            return inside
    if word.endswith(("secret", "secrets")):
        return "secret"
    for ending in ("key", "token", "keys", "tokens"):
        if word.endswith(ending) and word[: -len(ending)] in _QUALIFIERS:
            return _WEAK[ending]
    return None


# (reason, text one of which it must contain, pattern); a group named ``secret`` is the
# part that code redaction replaces (else the whole match), a group named ``name`` must be
# a secret's name for the match to count. The plain-text test keeps the cost of a cell
# without credentials to one quick search.
_SHAPES = (
    (
        "a Stripe secret key",
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
        r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{10,}",
    ),
    ("a secret API key (sk-...)", ("sk-",), r"\bsk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}"),
    ("an AWS access key id", ("AKIA", "ASIA"), r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    (
        "a GitHub token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})",
    ),
    ("a Slack token", ("xox",), r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    ("a Google API key", ("AIza",), r"\bAIza[0-9A-Za-z_-]{35}"),
    ("a Hugging Face token", ("hf_",), r"\bhf_[A-Za-z0-9]{30,}"),
    (
        "a JSON Web Token",
        ("eyJ",),
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    ),
    (
        "a private key",
        ("PRIVATE KEY-----",),
        r"-----BEGIN[A-Z ]*PRIVATE KEY-----"
        r"(?:[\s\S]*?-----END[A-Z ]*PRIVATE KEY-----|[A-Za-z0-9+/=\s\\]*)",
    ),
    (
        "a URL with a password",
        ("://",),
        r"://(?<=[A-Za-z0-9]://)[^\s/?#@:'\"]*:(?P<secret>[^\s/?#@'\"]+)@",
    ),
    (
        "a URL with a secret in its query",
        ("?", "&"),
        r"[?&](?P<name>[A-Za-z0-9_.-]+)=(?P<secret>[^&#\s'\"<]+)",
    ),
)


@functools.cache
def _shapes() -> tuple[re.Pattern[str], dict[str, list[int]], list[tuple[str, re.Pattern[str]]]]:
    """(any anchor of any shape, each anchor's shapes, the compiled shapes), on first use."""
    shapes = []
    by_anchor: dict[str, list[int]] = {}
    for index, (reason, anchors, pattern) in enumerate(_SHAPES):
        shapes.append((reason, re.compile(pattern)))
        for anchor in anchors:
            by_anchor.setdefault(anchor, []).append(index)
    any_anchor = "|".join(re.escape(a) for a in sorted(by_anchor, key=len, reverse=True))
    return re.compile(any_anchor), by_anchor, shapes


def _shapes_in(text: str) -> list[tuple[str, re.Pattern[str]]]:
    """The shapes whose anchor ``text`` contains: the only ones worth a search."""
    anchor, by_anchor, shapes = _shapes()
    hits = anchor.findall(text)
    if not hits:  # most text: no set or sorting to pay for
        return []
    found = {index for hit in hits for index in by_anchor[hit]}
    return [shapes[index] for index in sorted(found)]


def secret_shape(text: str) -> str | None:
    """What credential ``text`` holds (``"a GitHub token"``), or ``None``."""
    if len(text) < 8:
        return None
    for reason, pattern in _shapes_in(text):
        if "name" not in pattern.groupindex:
            if pattern.search(text) is not None:
                return reason
        elif any(secret_word(found["name"]) for found in pattern.finditer(text)):
            return reason
    return None


def redact_param(name: str, value: Any) -> Any:
    """``value`` as it may be recorded under ``name``.

    A :class:`Withheld` when the whole value is a secret; else the value with the secrets
    inside its lists and dicts replaced by ``redacted: <reason>`` text (the same object
    when there are none).
    """
    if value is None or isinstance(value, numbers.Number):
        return value
    word = secret_word(name)
    if word is not None and _holds_text(value, 0):
        return Withheld(f'the name contains "{word}"')
    if isinstance(value, str):
        shape = secret_shape(value)
        return value if shape is None else Withheld(f"looks like {shape}")
    if isinstance(value, (list, tuple, dict)):
        try:
            return _walk(value, 0)
        except _TooDeep:
            return Withheld("nested too deeply to be checked for secrets")
    return value


def redact_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` by name as they may be written out (as JSON): secrets as their reason text."""
    kept = {}
    for name, value in values.items():
        found = redact_param(name, value)
        kept[name] = found.text if isinstance(found, Withheld) else found
    return kept


def redact_tag(name: str, text: str) -> str:
    """A tag's text as it may be recorded: ``redacted: <reason>`` for a secret."""
    found = redact_param(name, text)
    return found.text if isinstance(found, Withheld) else text


class _TooDeep(Exception):
    pass


def _holds_text(value: Any, depth: int) -> bool:
    """Whether ``value`` has anything but numbers, booleans and ``None`` in it."""
    if value is None or isinstance(value, numbers.Number):
        return False
    if depth > _MAX_DEPTH:
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds_text(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return any(_holds_text(item, depth + 1) for item in value.values())
    return True


def _walk(value: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise _TooDeep
    if isinstance(value, str):
        shape = secret_shape(value)
        return value if shape is None else f"{PREFIX}looks like {shape}"
    if isinstance(value, (list, tuple)):
        items = [_walk(item, depth + 1) for item in value]
        changed = any(new is not old for new, old in zip(items, value))
        return (items if isinstance(value, list) else tuple(items)) if changed else value
    if isinstance(value, dict):
        entries: dict[Any, Any] = {}
        changed = False
        for key, item in value.items():
            new_key = key
            if isinstance(key, str):
                shape = secret_shape(key)
                if shape is not None:
                    new_key = f"{PREFIX}looks like {shape} ({len(entries) + 1})"
            word = secret_word(key) if isinstance(key, str) else None
            if word is not None and _holds_text(item, depth + 1):
                new = f'{PREFIX}the name contains "{word}"'
            else:
                new = _walk(item, depth + 1)
            changed = changed or new is not item or new_key is not key
            entries[new_key] = new
        return entries if changed else value
    return value


# = or : (not ==; <=, != and := are told by the character before), then a string literal.
_LITERAL_AFTER_OP = (
    r"""[=:](?!=)[ \t]*(?P<prefix>[rRbBuU]{0,2})"""
    r"""(?P<literal>\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')"""
)
# What may stand between ``name:`` and ``=`` in an annotated assignment.
_ANNOTATION = r"[ \t]*[A-Za-z_][\w.\[\], |]*"
_CODE_WORDS = ("key", "token", "secret", "passw", "passphrase", "credential")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@functools.cache
def _code_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(a literal after = or :, an annotation), compiled on first use."""
    return re.compile(_LITERAL_AFTER_OP), re.compile(_ANNOTATION)


@functools.cache
def _code_words() -> re.Pattern[str]:
    """Any of the words of a secret's name, in lower-case text (one search, not six)."""
    return re.compile("|".join(re.escape(word) for word in _CODE_WORDS))


def redact_code(source: str) -> str:
    """``source`` with its secrets replaced and the rest of the code as it was.

    A string literal given to a secret-named variable, keyword, attribute or key
    (``API_KEY = "..."``, ``connect(password="...")``, ``{"token": "..."}``,
    ``os.environ["DB_PASSWORD"] = "..."``) becomes ``'redacted: the name contains "..."'``,
    the text its parameter shows; f-strings are kept. Credential-shaped text anywhere
    (in strings, comments, magics) becomes ``<redacted: looks like ...>``.
    """
    text = source
    lowered = text.lower()
    if _code_words().search(lowered) is not None:
        literal, annotation = _code_patterns()
        text = literal.sub(functools.partial(_replace_literal, annotation=annotation), text)
    for reason, pattern in _shapes_in(text):
        marker = f"<{PREFIX}looks like {reason}>"
        text = pattern.sub(functools.partial(_replace_shape, marker=marker), text)
    return text


def _replace_literal(found: re.Match[str], *, annotation: re.Pattern[str]) -> str:
    op = found.start()
    if "f" in found["prefix"].lower() or (op and found.string[op - 1] in "=!<>:"):
        return found[0]
    name = _target(found.string, op, annotation)
    word = None if name is None else secret_word(name)
    if word is None:
        return found[0]
    start = found.start("prefix") - op
    return f"""{found[0][:start]}{found["prefix"]}'{PREFIX}the name contains "{word}"'"""


def _target(text: str, op: int, annotation: re.Pattern[str]) -> str | None:
    """The name the literal after ``text[op]`` (= or :) is given to, read backwards:
    ``name =``, ``obj.name =``, ``name: str =``, ``name=`` in a call, ``"name":``,
    ``env["name"] =``."""
    end = _skip_blanks(text, op)
    if text[op] == "=":
        line = text.rfind("\n", 0, end) + 1
        colon = text.rfind(":", line, end)
        if colon != -1 and annotation.fullmatch(text, colon + 1, end):
            end = _skip_blanks(text, colon)
    if end and text[end - 1] == "]":
        end -= 1
    if end and text[end - 1] in "'\"":
        end -= 1
    start = end
    while start and text[start - 1] in _NAME_CHARS:
        start -= 1
    return text[start:end] if start < end else None


def _skip_blanks(text: str, end: int) -> int:
    while end and text[end - 1] in " \t":
        end -= 1
    return end


def _replace_shape(found: re.Match[str], marker: str) -> str:
    if "name" in found.re.groupindex and secret_word(found["name"]) is None:
        return found[0]
    if "secret" not in found.re.groupindex:
        return marker
    start, end = found.span("secret")
    whole, at = found[0], found.start()
    return whole[: start - at] + marker + whole[end - at :]
