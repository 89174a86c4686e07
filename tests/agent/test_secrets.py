"""Secret detection and redaction (ml_engineer.analysis.secrets)."""

from __future__ import annotations

import pytest

from ml_engineer.analysis.secrets import find_secrets, redact

POSITIVES = [
    ('WANDB_API_KEY = "3f9a1c2b7d8e4f60a1b2c3d4e5f60718293a4b5c"', "wandb", "3f9a1c2b7d8e4f60a1b2c3d4e5f60718293a4b5c"),
    ('wandb.login(key="0a1b2c3d4e5f60718293a4b5c6d7e8f901234567")', "wandb", "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"),
    ('os.environ["WANDB_API_KEY"] = "9a8b7c6d5e4f30211a2b3c4d5e6f708192a3b4c5"', "wandb", "9a8b7c6d5e4f30211a2b3c4d5e6f708192a3b4c5"),
    ('token = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"', "huggingface", "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
    ('openai.api_key = "sk-proj-Ab3dEf9hIjKlMn0pQrStUvWx1zAbCdEf"', "openai", "sk-proj-Ab3dEf9hIjKlMn0pQrStUvWx1zAbCdEf"),
    ('client = OpenAI(api_key="sk-Ab3dEf9hIjKlMn0pQrStUvWx1zAbCdEf77")', "openai", "sk-Ab3dEf9hIjKlMn0pQrStUvWx1zAbCdEf77"),
    ('Anthropic(api_key="sk-ant-api03-AbCdEf0123456789ghIJklMNopQRstUVwx")', "anthropic", "sk-ant-api03-AbCdEf0123456789ghIJklMNopQRstUVwx"),
    ('aws_access_key_id = "AKIAIOSFODNN7Q2X9KLM"', "aws_access_key_id", "AKIAIOSFODNN7Q2X9KLM"),
    ('aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY7z8Q2kLm9N"', "aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCY7z8Q2kLm9N"),
    ('key = "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"', "gcp_api_key", "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"),
    ('exp = comet_ml.Experiment(api_key="Zx8vQ2mN5pL7rT1wY4uI9oE3a")', "comet", "Zx8vQ2mN5pL7rT1wY4uI9oE3a"),
    ('COMET_API_KEY = "Zx8vQ2mN5pL7rT1wY4uI9oE3a"', "comet", "Zx8vQ2mN5pL7rT1wY4uI9oE3a"),
    ('run = neptune.init_run(api_token="eyJhcGlfYWRkcmVzcyI6Imh0dHBzOi8vYXBwLm5lcHR1bmUuYWkiLCJhcGlfa2V5IjoiMTIzIn0=")', "neptune",
     "eyJhcGlfYWRkcmVzcyI6Imh0dHBzOi8vYXBwLm5lcHR1bmUuYWkiLCJhcGlfa2V5IjoiMTIzIn0="),
    ('url = "https://alice:s3cr3tT0ken99@github.com/org/repo.git"', "url_credentials", "s3cr3tT0ken99"),
    ('db_password = "Tr0ub4dor&3xQ9zLp2"', "generic", "Tr0ub4dor&3xQ9zLp2"),
    ('config = {"secret_token": "q9Z2x7W4v1U8t5S3r6P0o"}', "generic", "q9Z2x7W4v1U8t5S3r6P0o"),
    ("export HF_TOKEN=hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "huggingface", "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
]

NEGATIVES = [
    'key = os.environ["WANDB_API_KEY"]',
    'token = os.getenv("HF_TOKEN")',
    'wandb.login(key=os.environ.get("WANDB_API_KEY"))',
    'api_key = "<your-key>"',
    'api_key = "xxx"',
    'OPENAI_API_KEY = "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
    'password = "changeme"',
    'secret = ""',
    'tokenizer = "bert-base-uncased"',
    "token: PreTrainedTokenizerBase",
    'max_tokens = 2048',
    'url = "https://${USER}:${TOKEN}@github.com/x"',
    'model_name = "meta-llama/Llama-3.1-8B-Instruct"',
    'path = "/data/checkpoints/run_2024_01_17/epoch_0042.pt"',
    'sort_key = "created_at"',
    'api_key = "your_api_key_here"',
    'print("loss", loss.item(), "acc", acc)',
]


@pytest.mark.parametrize(("line", "kind", "value"), POSITIVES)
def test_detects_secret_value_and_kind(line: str, kind: str, value: str) -> None:
    matches = find_secrets(line)
    assert [(m.kind, line.encode()[m.start : m.end].decode()) for m in matches] == [(kind, value)]


@pytest.mark.parametrize("line", NEGATIVES)
def test_quiet_on_environment_reads_placeholders_and_ordinary_strings(line: str) -> None:
    assert find_secrets(line) == []


def test_offsets_are_utf8_byte_offsets() -> None:
    text = 'note = "héllo wörld ✓"\nHF_TOKEN = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"\n'
    (match,) = find_secrets(text)
    data = text.encode("utf-8")
    assert data[match.start : match.end] == b"hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
    assert match.start != text.index("hf_")  # characters and bytes differ before it
    assert match.name == "HF_TOKEN"


def test_name_is_reported_for_assignments() -> None:
    (match,) = find_secrets('WANDB_API_KEY = "3f9a1c2b7d8e4f60a1b2c3d4e5f60718293a4b5c"')
    assert match.name == "WANDB_API_KEY"
    assert match.label == "Weights & Biases API key"


def test_private_key_block_is_one_secret() -> None:
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" * 3
    text = '{"private_key": "-----BEGIN PRIVATE KEY-----\\n' + body + '\\n-----END PRIVATE KEY-----\\n"}'
    (match,) = find_secrets(text)
    assert match.kind == "private_key"
    assert text.encode()[match.start : match.end].startswith(b"-----BEGIN PRIVATE KEY-----")
    assert text.encode()[match.start : match.end].endswith(b"-----END PRIVATE KEY-----")


def test_placeholder_private_key_is_ignored() -> None:
    assert find_secrets('"-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----"') == []


def test_redact_replaces_values_and_reports_lines() -> None:
    text = (
        "import wandb\n"
        'WANDB_API_KEY = "3f9a1c2b7d8e4f60a1b2c3d4e5f60718293a4b5c"\n'
        'hf = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"\n'
    )
    out, redactions = redact(text)
    assert out == 'import wandb\nWANDB_API_KEY = "<redacted:wandb>"\nhf = "<redacted:huggingface>"\n'
    assert [(r.line, r.kind) for r in redactions] == [(2, "wandb"), (3, "huggingface")]
    assert "3f9a1c2b" not in out and "hf_aBc" not in out


def test_redact_without_secrets_is_identity() -> None:
    text = "x = 1\nprint('ok')\n"
    assert redact(text) == (text, [])
