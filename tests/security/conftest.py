"""Fixtures shared by the hostile-input suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.security.workbooks import bomb_sheet, write_workbook


@pytest.fixture(scope="session")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5.8 MB of XLSX whose sheet inflates to 1.5 GB: the file of issue 14's finding 1."""
    path = tmp_path_factory.mktemp("bomb") / "estates.xlsx"
    write_workbook(path, bomb_sheet(), compresslevel=9)
    assert path.stat().st_size < 8_000_000
    return path
