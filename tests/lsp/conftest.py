"""pytest-lsp fixtures: a real `python -m ml_engineer serve` process driven over stdio."""

from __future__ import annotations

import pytest_lsp
from lsp_helpers import SERVER_COMMAND, prepare_client, server_env
from pytest_lsp import ClientServerConfig, LanguageClient


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=server_env()))
async def client(lsp_client: LanguageClient):
    prepare_client(lsp_client)
    yield lsp_client
    await lsp_client.shutdown_session()
