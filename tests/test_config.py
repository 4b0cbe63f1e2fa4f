"""Safe by configuration: nothing is ever unpickled, and the app binds to localhost only."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SEFTON_UPDATE

OWN_CODE = [REPO / "index", REPO / "qa", REPO / "eval", REPO / "app.py"]
UNSAFE = re.compile(
    r"^\s*(?:import|from)\s+(?:pickle|cPickle|_pickle|dill|shelve|joblib)\b"
    r"|\bpickle\.loads?\s*\("
    r"|allow_pickle\s*=\s*True"
    r"|\btorch\.load\s*\("
    r"|\bjoblib\.load\s*\("
    r"|\bmarshal\.loads?\s*\(",
    re.MULTILINE,
)


def own_python_files() -> list[Path]:
    files: list[Path] = []
    for path in OWN_CODE:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    return files


def test_no_pickle_in_own_code() -> None:
    files = own_python_files()
    assert len(files) > 10, files  # the scan did look at the code
    found = [
        f"{f.relative_to(REPO)}:{f.read_text(encoding='utf-8')[: m.start()].count(chr(10)) + 1}: {m.group(0).strip()}"
        for f in files
        for m in UNSAFE.finditer(f.read_text(encoding="utf-8"))
    ]
    assert not found, "unsafe deserialisation:\n" + "\n".join(found)


def test_ruff_s301_finds_no_pickle() -> None:
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        pytest.skip("ruff is not installed in this venv (pip install -e '.[dev]')")
    targets = [str(p.relative_to(REPO)) for p in OWN_CODE if p.exists()]
    proc = subprocess.run(
        [str(ruff), "check", "--no-cache", "--select", "S301,S302", *targets],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_written_index_holds_no_pickle(tmp_path: Path) -> None:
    """Every file of an index is plain data: .npy without object arrays, JSON, FAISS."""
    from index.embed import HashingEmbedder
    from index.folder import ingest

    papers = tmp_path / "papers"
    papers.mkdir()
    shutil.copyfile(SEFTON_UPDATE, papers / SEFTON_UPDATE.name)
    ingest([papers], tmp_path / "index", HashingEmbedder(dim=32))
    files = [f for f in (tmp_path / "index").rglob("*") if f.is_file() and f.name != ".lock"]
    assert files
    for f in files:
        head = f.read_bytes()[:2]
        assert not (head[:1] == b"\x80" and head[1:2] in b"\x02\x03\x04\x05"), f"{f} looks like a pickle"
        assert f.suffix not in (".pkl", ".pickle", ".pt", ".bin", ".joblib"), f
        if f.suffix == ".npy":
            np.load(f, allow_pickle=False)  # raises on object arrays
        elif f.suffix == ".json":
            json.loads(f.read_text(encoding="utf-8"))
        elif f.suffix == ".jsonl":
            for line in f.read_text(encoding="utf-8").splitlines():
                json.loads(line)


def test_default_model_weights_are_safetensors() -> None:
    """The bundled model is loaded from safetensors, so no torch.load (pickle) runs."""
    from index.embed import ModelNotFound, default_model_path

    try:
        path = default_model_path()
    except ModelNotFound as err:
        pytest.skip(str(err))
    assert list(path.glob("*.safetensors")), sorted(p.name for p in path.iterdir())
    pickled = [p.name for pat in ("*.bin", "*.pt", "*.pth", "*.pkl", "*.ckpt") for p in path.rglob(pat)]
    assert not pickled, pickled


# --- Streamlit -------------------------------------------------------------------------------------

STREAMLIT_CONFIG = REPO / ".streamlit" / "config.toml"


@pytest.fixture
def streamlit_config() -> dict:
    if not STREAMLIT_CONFIG.exists():
        pytest.skip(f"{STREAMLIT_CONFIG.relative_to(REPO)} does not exist yet (the app's config is not written)")
    return tomllib.loads(STREAMLIT_CONFIG.read_text(encoding="utf-8"))


def test_streamlit_binds_localhost(streamlit_config: dict) -> None:
    assert streamlit_config.get("server", {}).get("address") == "127.0.0.1", streamlit_config


def test_streamlit_xsrf_protection_on(streamlit_config: dict) -> None:
    assert streamlit_config.get("server", {}).get("enableXsrfProtection") is True, streamlit_config


def test_streamlit_limits_uploads(streamlit_config: dict) -> None:
    size = streamlit_config.get("server", {}).get("maxUploadSize")
    assert isinstance(size, int) and 0 < size <= 1000, f"server.maxUploadSize = {size!r} (MB)"
