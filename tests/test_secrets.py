"""Secrets are stored redacted: which names and values count, what the registry file holds
after a real notebook run, and what every view (runs frame, CLI, server) shows instead."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jupyter_mlops.tracking.secrets import redact_code, redact_param, secret_shape, secret_word
from jupyter_mlops.tracking.values import encode_param

# Shaped like the real thing, valid for nothing.
OPENAI = "sk-live-51HxQm2eZvKYlo2C0aBcDeFgH"
PROJECT_KEY = "sk-proj-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
STRIPE = "rk_live_51HxQm2eZvKYlo2C0aBcDe"
AWS = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITHUB_PAT = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
SLACK = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
GOOGLE = "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
HUGGING_FACE = "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7Zq3\nq9Xw==\n-----END RSA PRIVATE KEY-----\n"
)
DSN = "postgresql://ana:pa55w0rd@db.example.com:5432/prod"
PASSWORD = "hunter2"

BY_NAME = 'redacted: the name contains "{}"'


# -- the rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("API_KEY", "key"),
        ("OPENAI_API_KEY", "key"),
        ("apiKey", "key"),
        ("APIKey", "key"),
        ("apikey", "key"),
        ("key", "key"),
        ("private_key", "key"),
        ("api_keys", "key"),
        ("model.api_key", "key"),
        ("db_password", "password"),
        ("Password", "password"),
        ("user-password", "password"),
        ("dbpassword", "password"),
        ("DB_PASSWD", "passwd"),
        ("passphrase", "passphrase"),
        ("githubToken", "token"),
        ("HF_TOKEN", "token"),
        ("SLACK_BOT_TOKEN", "token"),
        ("clf__token", "token"),
        ("access_tokens", "token"),
        ("authtoken", "token"),
        ("aws_secret_access_key", "secret"),
        ("clientSecret", "secret"),
        ("secrets", "secret"),
        ("credentials", "credential"),
        ("gcp_credential", "credential"),
        # not secrets: other words, counts, kinds of keys and tokens, things about a secret
        ("monkey", None),
        ("turkey", None),
        ("keyword", None),
        ("tokenizer", None),
        ("n_keys", None),
        ("keys", None),
        ("max_tokens", None),
        ("num_tokens", None),
        ("sort_key", None),
        ("join_key", None),
        ("primary_key", None),
        ("public_key", None),
        ("pad_token", None),
        ("eos_token", None),
        ("key_size", None),
        ("key_column", None),
        ("token_url", None),
        ("secret_name", None),
        ("password_length", None),
        ("credentials_path", None),
        ("learning_rate", None),
    ],
)
def test_secret_word_reads_the_words_of_a_name(name: str, word: str | None) -> None:
    assert secret_word(name) == word


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        (OPENAI, "a secret API key (sk-...)"),
        (PROJECT_KEY, "a secret API key (sk-...)"),
        (STRIPE, "a Stripe secret key"),
        ("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "a Stripe secret key"),
        (AWS, "an AWS access key id"),
        (GITHUB, "a GitHub token"),
        (GITHUB_PAT, "a GitHub token"),
        (SLACK, "a Slack token"),
        (GOOGLE, "a Google API key"),
        (HUGGING_FACE, "a Hugging Face token"),
        (JWT, "a JSON Web Token"),
        (PEM, "a private key"),
        (DSN, "a URL with a password"),
        ("redis://:s3cret@cache:6379/0", "a URL with a password"),
        (f"Authorization: Bearer {GITHUB}", "a GitHub token"),
        ("http://localhost:8888/lab?token=3f9a0c", "a URL with a secret in its query"),
        ("https://api.example.com/v1?page=2&api_key=abc123", "a URL with a secret in its query"),
        # harmless look-alikes
        ("sk-learn", None),
        ("scikit-learn==1.4.2", None),
        ("sk-abcdefghijklmnopqrstuvwxyz", None),  # no digit: a slug, not a key
        ("task-1234567890abcdefghijklmno", None),
        ("AKIA1234", None),
        ("ghp_short", None),
        ("hf_hub_download", None),
        ("eyJhbGciOi", None),
        ("-----BEGIN PUBLIC KEY-----", None),
        ("https://example.com/data.csv", None),
        ("https://ana@github.com/org/repo.git", None),
        ("http://localhost:8888/lab", None),
        ("https://example.com/search?q=token&sort_key=date&page=2", None),
        ("ana@example.com", None),
        ("s3://bucket/raw/2024", None),
        ("adam", None),
    ],
)
def test_secret_shape_knows_common_credentials(text: str, shape: str | None) -> None:
    assert secret_shape(text) == shape


class Client:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def __repr__(self) -> str:
        return f"Client(api_key={self.api_key!r}, timeout=3)"


def _deep(levels: int) -> list[Any]:
    value: list[Any] = [GITHUB]
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("db_password", PASSWORD, (BY_NAME.format("password"), "redacted")),
        ("API_KEY", OPENAI, (BY_NAME.format("key"), "redacted")),  # the name tells first
        ("endpoint", DSN, ("redacted: looks like a URL with a password", "redacted")),
        ("note", f"use {GITHUB} here", ("redacted: looks like a GitHub token", "redacted")),
        ("passwords", ["a", "b"], (BY_NAME.format("password"), "redacted")),
        ("credentials", {"user": "ana", "port": 5432}, (BY_NAME.format("credential"), "redacted")),
        ("blob", b"sk-live-0123456789abcdefghij", ("redacted: looks like", "other")),
        (
            "config",
            {"db": {"password": PASSWORD, "port": 5432}, "lr": 0.1},
            (
                json.dumps(
                    {"db": {"password": BY_NAME.format("password"), "port": 5432}, "lr": 0.1}
                ),
                "dict",
            ),
        ),  # fmt: skip
        (
            "headers",
            {"Authorization": f"Bearer {JWT}", "Accept": "json"},
            (
                '{"Authorization": "redacted: looks like a JSON Web Token", "Accept": "json"}',
                "dict",
            ),
        ),
        (
            "sources",
            [DSN, "https://example.com/a.csv"],
            ('["redacted: looks like a URL with a password", "https://example.com/a.csv"]', "list"),
        ),
        (
            "lookup",
            {GITHUB: 1},
            ('{"redacted: looks like a GitHub token (1)": 1}', "dict"),
        ),
        (
            "client",
            Client(OPENAI),
            ("Client(api_key='redacted: the name contains \"key\"', timeout=3)", "other"),
        ),
        ("deep", _deep(100), ("redacted: nested too deeply to be checked for secrets", "redacted")),
        # numbers, switches and None are kept whatever the name
        ("key_size", 2048, (2048, "int")),
        ("api_key", None, (None, "none")),
        ("use_token", True, (1, "bool")),
        ("token_ids", [1, 2], ("[1, 2]", "list")),
        ("password", 0.5, (0.5, "float")),
    ],
)
def test_parameters_are_stored_without_their_secrets(
    name: str, value: Any, stored: tuple[Any, str]
) -> None:
    text, type_name = encode_param(redact_param(name, value))

    assert type_name == stored[1]
    if name == "blob":  # bytes are an object: their repr is checked like code
        assert stored[0] in text and "0123456789abcdefghij" not in text
    else:
        assert text == stored[0]


@pytest.mark.parametrize(
    ("source", "stored"),
    [
        (f'API_KEY = "{OPENAI}"', """API_KEY = 'redacted: the name contains "key"'"""),
        (
            f"db_password: str = '{PASSWORD}'  # from the vault",
            """db_password: str = 'redacted: the name contains "password"'  # from the vault""",
        ),
        (
            f'client = OpenAI(api_key="{PROJECT_KEY}", timeout=3)',
            """client = OpenAI(api_key='redacted: the name contains "key"', timeout=3)""",
        ),
        (
            'conf = {"token": "abc", "n": 1, "name": "x"}',
            """conf = {"token": 'redacted: the name contains "token"', "n": 1, "name": "x"}""",
        ),
        (
            f'os.environ["DB_PASSWORD"] = r"{PASSWORD}"',
            """os.environ["DB_PASSWORD"] = r'redacted: the name contains "password"'""",
        ),
        (
            f'settings.secret = """{PASSWORD}\nsecond line"""\nx = 1',
            """settings.secret = 'redacted: the name contains "secret"'\nx = 1""",
        ),
        (
            f'engine = create_engine("{DSN}")',
            'engine = create_engine("postgresql://ana:<redacted: looks like a URL with a'
            ' password>@db.example.com:5432/prod")',
        ),
        (f"# old token: {GITHUB}", "# old token: <redacted: looks like a GitHub token>"),
        (
            'r = get("https://api.example.com/v1?page=2&api_key=abc123&fmt=json")',
            'r = get("https://api.example.com/v1?page=2&api_key=<redacted: looks like a URL with'
            ' a secret in its query>&fmt=json")',
        ),
        (
            f"%env OPENAI_API_KEY={OPENAI}",
            "%env OPENAI_API_KEY=<redacted: looks like a secret API key (sk-...)>",
        ),
        (f'pem = """{PEM}"""', 'pem = """<redacted: looks like a private key>\n"""'),
        (
            f"!curl -H 'Authorization: Bearer {SLACK}' https://slack.com/api",
            "!curl -H 'Authorization: Bearer <redacted: looks like a Slack token>'"
            " https://slack.com/api",
        ),
    ],
)
def test_code_keeps_its_shape_without_the_secrets(source: str, stored: str) -> None:
    assert redact_code(source) == stored


HARMLESS_CODE = (
    "%%mlops run baseline --experiment churn\n"
    'sort_key = "date"\n'
    "max_tokens: int = 512\n"
    'pad_token = "[PAD]"\n'
    "token = f\"Bearer {os.environ['TOKEN']}\"\n"
    "if key == 'a': pass\n"
    'df = pd.read_csv("https://example.com/data.csv?version=2&sort_key=date")\n'
    "model = LogisticRegression(C=0.5).fit(X, y)\n"
)


def test_code_without_secrets_is_kept_as_it_is() -> None:
    assert redact_code(HARMLESS_CODE) == HARMLESS_CODE
