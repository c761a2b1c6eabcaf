"""Secrets are stored redacted: which names and values count, what the registry file holds
after a real notebook run, and what every view (runs frame, CLI, server) shows instead."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from IPython.utils.capture import capture_output

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.runner.history import pipeline_runs
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.secrets import redact_code, redact_param, secret_shape, secret_word
from jupyter_mlops.tracking.values import encode_param

from .conftest import run_cell
from .pipelines import code, export_cells, open_registry, run

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


# -- a real notebook run ----------------------------------------------------------------------------

ESTIMATOR_CELL = """
from sklearn.base import BaseEstimator

class Remote(BaseEstimator):
    def __init__(self, api_key=None, endpoint=None, retries=3):
        self.api_key, self.endpoint, self.retries = api_key, endpoint, retries

    def fit(self, X, y=None):
        self.fitted_ = True
        return self
"""

RUN_CELL = f"""%%mlops run train --experiment secrets --tag owner=ana --tag slack_token={SLACK}
API_KEY = "{OPENAI}"
db_password = "{PASSWORD}"
learning_rate = 0.1
optimizer = "adam-marker-7f3"
DSN = "{DSN}"
model = Remote(api_key=API_KEY, endpoint=DSN).fit([[0]])
mlops.log_params(settings={{"hf": {{"token": "{HUGGING_FACE}"}}, "batch": 32}})
mlops.log(accuracy=0.9)
"""

SECRETS = (OPENAI, PASSWORD, "pa55w0rd", SLACK, HUGGING_FACE)


@pytest.fixture
def notebook_run(shell: Any, registry: Registry) -> str:
    """The id of a ``%%mlops run`` cell with secrets, run in a real IPython shell."""
    with capture_output() as captured:
        run_cell(shell, ESTIMATOR_CELL)
        result = run_cell(shell, RUN_CELL)
    assert result.error_in_exec is None, captured.stderr  # type: ignore[attr-defined]
    assert shell.user_ns["db_password"] == PASSWORD  # the user's values are untouched
    return mlops.get_run("train").run.id


def test_notebook_run_stores_the_reason_in_place_of_each_secret(
    notebook_run: str, registry: Registry
) -> None:
    rows = {
        r["key"]: (r["value"], r["type"], r["source"])
        for r in registry.query("SELECT * FROM params WHERE run_id = ?", (notebook_run,))
    }

    assert rows["API_KEY"] == (BY_NAME.format("key"), "redacted", "literal")
    assert rows["db_password"] == (BY_NAME.format("password"), "redacted", "literal")
    assert rows["DSN"] == ("redacted: looks like a URL with a password", "redacted", "literal")
    assert rows["learning_rate"] == (0.1, "float", "literal")
    assert rows["optimizer"] == ("adam-marker-7f3", "str", "literal")
    assert rows["model.api_key"] == (BY_NAME.format("key"), "redacted", "estimator")
    assert rows["model.endpoint"][:2] == ("redacted: looks like a URL with a password", "redacted")
    assert rows["model.retries"] == (3, "int", "estimator")
    assert json.loads(rows["settings"][0]) == {
        "hf": {"token": BY_NAME.format("token")}, "batch": 32
    }  # fmt: skip
    tags = dict(registry.query_tuples("SELECT key, value FROM tags WHERE run_id = ?",
                                      (notebook_run,)))  # fmt: skip
    assert tags == {"owner": "ana", "slack_token": BY_NAME.format("token")}
    (cell,) = [r[0] for r in registry.query_tuples("SELECT source FROM code_cells")]
    assert cell.splitlines()[:6] == [
        "%%mlops run train --experiment secrets --tag owner=ana"
        " --tag slack_token=<redacted: looks like a Slack token>",
        """API_KEY = 'redacted: the name contains "key"'""",
        """db_password = 'redacted: the name contains "password"'""",
        "learning_rate = 0.1",
        'optimizer = "adam-marker-7f3"',
        'DSN = "postgresql://ana:<redacted: looks like a URL with a password>'
        '@db.example.com:5432/prod"',
    ]
    assert cell.splitlines()[6:] == RUN_CELL.splitlines()[6:-2] + [
        'mlops.log_params(settings={"hf": {"token": \'redacted: the name contains "token"\'},'
        ' "batch": 32})',
        "mlops.log(accuracy=0.9)",
    ]


def test_notebook_run_leaves_no_secret_in_the_registry_files(
    notebook_run: str, registry: Registry, tmp_path: Path
) -> None:
    files = [path for path in (tmp_path / ".mlops").rglob("*") if path.is_file()]
    content = b"".join(path.read_bytes() for path in files)

    assert {p.name for p in files} >= {"registry.db", "registry.db-wal"}
    assert b"adam-marker-7f3" in content  # the files read are the ones written
    for secret in SECRETS:
        assert secret.encode() not in content, secret
    other = sqlite3.connect(tmp_path / ".mlops" / "registry.db")
    try:
        dumped = "\n".join(other.iterdump())
    finally:
        other.close()
    assert "adam-marker-7f3" in dumped and not [s for s in SECRETS if s in dumped]


def test_runs_frame_shows_the_reasons(notebook_run: str) -> None:
    frame = mlops.runs(experiment="secrets")

    row = frame.iloc[0]
    assert row["params.API_KEY"] == BY_NAME.format("key")
    assert row["params.db_password"] == BY_NAME.format("password")
    assert row["params.learning_rate"] == 0.1
    assert not [s for s in SECRETS if s in frame.to_csv()]


def test_cli_show_and_compare_show_the_reasons(notebook_run: str, shell: Any) -> None:
    with capture_output():
        run_cell(shell, RUN_CELL.replace(PASSWORD, "correct horse"))
    runner = CliRunner()

    shown = runner.invoke(main, ["show", notebook_run])
    as_json = runner.invoke(main, ["show", notebook_run, "--format", "json"])
    compared = runner.invoke(main, ["compare", notebook_run, "last"])

    assert shown.exit_code == as_json.exit_code == compared.exit_code == 0
    parameters = shown.stdout.split("\nParameters\n")[1].split("\n\n")[0].splitlines()
    (line,) = [line for line in parameters if line.startswith("db_password ")]
    assert line.split()[1:] == [*BY_NAME.format("password").split(), "literal"]
    assert json.loads(as_json.stdout)["params"]["API_KEY"] == BY_NAME.format("key")
    assert BY_NAME.format("password") in compared.stdout
    for out in (shown.stdout, as_json.stdout, compared.stdout):
        assert not [s for s in (*SECRETS, "correct horse") if s in out]


# -- the server's answers -----------------------------------------------------------------------


@pytest.fixture
def jp_server_config(jp_server_config):
    config_file = Path(__file__).parents[1] / "jupyter-config/server-config/jupyter_mlops.json"
    return {"ServerApp": json.loads(config_file.read_text())["ServerApp"]}


@pytest.fixture
def api_run(registry: Registry) -> str:
    """A run recorded through the Python API: explicit params, a tag and a cell's code."""
    with mlops.start_run("api", experiment="secrets", tags={"deploy": GITHUB}) as run:
        run.log_params(API_KEY=OPENAI, db_password=PASSWORD, learning_rate=0.1)
        run.record_cell(f'API_KEY = "{OPENAI}"\nlearning_rate = 0.1\n')
    return run.id


async def test_server_run_and_runs_routes_show_the_reasons(jp_fetch, api_run: str) -> None:
    one = await jp_fetch("jupyter-mlops", "api", "runs", api_run)
    page = await jp_fetch("jupyter-mlops", "api", "runs", params={"experiment": "secrets"})

    body = json.loads(one.body)
    params = {p["key"]: (p["value"], p["type"], p["source"]) for p in body["params"]}
    assert params == {
        "API_KEY": (BY_NAME.format("key"), "redacted", "explicit"),
        "db_password": (BY_NAME.format("password"), "redacted", "explicit"),
        "learning_rate": (0.1, "float", "explicit"),
    }
    assert body["tags"] == {"deploy": "redacted: looks like a GitHub token"}
    assert [c["source"] for c in body["code"]] == [
        """API_KEY = 'redacted: the name contains "key"'\nlearning_rate = 0.1\n"""
    ]
    listed = json.loads(page.body)["runs"][0]["params"]
    assert listed["db_password"] == BY_NAME.format("password")
    for raw in (one.body, page.body):
        assert not [s for s in (OPENAI, PASSWORD, GITHUB) if s.encode() in raw]


def test_a_failed_runs_error_keeps_the_message_without_the_key(registry: Registry) -> None:
    url = f"https://maps.googleapis.com/maps/api/geocode/json?address=Paris&key={GOOGLE}"

    with pytest.raises(RuntimeError), mlops.start_run("geocode") as run:
        raise RuntimeError(f"403 Client Error: Forbidden for url: {url}")

    assert run_detail(registry, run.id).error == (
        "RuntimeError: 403 Client Error: Forbidden for url: https://maps.googleapis.com/maps/api"
        "/geocode/json?address=Paris&key=<redacted: looks like a Google API key>"
    )


# -- the same run as before, when there is no secret ------------------------------------------------


def test_a_run_without_secrets_is_stored_as_before(shell: Any, registry: Registry) -> None:
    source = (
        "%%mlops run plain --tag owner=ana --tag key_column=user_id\n"
        'lr = 0.1; depth = 6; optimizer = "adam"; layers = [64, 32]\n'
        'sort_key = "date"; max_tokens = 512; pad_token = "[PAD]"; tokenizer = "bert-base"\n'
        'monkey = "george"; n_keys = 3; url = "https://example.com/data.csv"\n'
        'mlops.log_params(config={"a": 1, "b": [1.5, None, True]}, flag=False, none=None)\n'
    )
    with capture_output() as captured:
        result = run_cell(shell, source)
    assert result.error_in_exec is None, captured.stderr  # type: ignore[attr-defined]

    rows = registry.query_tuples("SELECT key, value, type, source FROM params ORDER BY key")
    assert rows == [
        ("config", '{"a": 1, "b": [1.5, null, true]}', "dict", "explicit"),
        ("depth", 6, "int", "literal"),
        ("flag", 0, "bool", "explicit"),
        ("layers", "[64, 32]", "list", "literal"),
        ("lr", 0.1, "float", "literal"),
        ("max_tokens", 512, "int", "literal"),
        ("monkey", "george", "str", "literal"),
        ("n_keys", 3, "int", "literal"),
        ("none", None, "none", "explicit"),
        ("optimizer", "adam", "str", "literal"),
        ("pad_token", "[PAD]", "str", "literal"),
        ("sort_key", "date", "str", "literal"),
        ("tokenizer", "bert-base", "str", "literal"),
        ("url", "https://example.com/data.csv", "str", "literal"),
    ]
    assert registry.query_tuples("SELECT key, value FROM tags ORDER BY key") == [
        ("key_column", "user_id"), ("owner", "ana")
    ]  # fmt: skip
    assert registry.query_tuples("SELECT source FROM code_cells") == [(source,)]


# -- pipelines ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_pipeline_parameters_are_redacted_where_the_registry_keeps_them(tmp_path: Path) -> None:
    pipeline = export_cells(
        tmp_path,
        "remote",
        [
            code(f'db_password = "{PASSWORD}"\nendpoint = "{DSN}"\nbatch = 32', "parameters"),
            code("length = len(db_password) + len(endpoint)\nmlops.log(length=length)", "step:use"),
        ],
    )
    result = run(pipeline, tmp_path)
    assert result.ok, [s.message for s in result.steps]

    with open_registry(tmp_path) as registry:
        detail = run_detail(registry, result.run_id)
        assert detail.run.params == {
            "db_password": BY_NAME.format("password"),
            "endpoint": "redacted: looks like a URL with a password",
            "batch": 32,
        }
        assert detail.run.metrics == {"length": len(PASSWORD) + len(DSN)}  # the step had them
        (step_run,) = registry.query_tuples("SELECT run_id FROM step_runs")
        assert run_detail(registry, step_run[0]).run.params["db_password"] == BY_NAME.format(
            "password"
        )
        assert pipeline_runs(registry)[0].parameters["endpoint"] == (
            "redacted: looks like a URL with a password"
        )
        spec = json.loads(registry.query_one("SELECT spec FROM pipelines")[0])
        assert {p["name"]: p["default"] for p in spec["parameters"]} == {
            "db_password": BY_NAME.format("password"),
            "endpoint": "redacted: looks like a URL with a password",
            "batch": 32,
        }
    content = b"".join(p.read_bytes() for p in (tmp_path / ".mlops").rglob("*") if p.is_file())
    assert b"batch" in content
    assert PASSWORD.encode() not in content and b"pa55w0rd" not in content
