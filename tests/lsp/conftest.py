"""pytest-lsp fixtures: a real `python -m ml_engineer serve` process driven over stdio."""

from __future__ import annotations

import pytest_lsp
from lsp_helpers import SERVER_COMMAND, fix_code_action_structuring, server_env
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=server_env()))
async def client(lsp_client: LanguageClient):
    fix_code_action_structuring(lsp_client)
    lsp_client.code_lens_refreshes = 0

    @lsp_client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def code_lens_refresh(params: None) -> None:
        lsp_client.code_lens_refreshes += 1

    yield lsp_client
    await lsp_client.shutdown_session()
