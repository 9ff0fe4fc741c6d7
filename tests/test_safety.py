"""Safe by construction: no pickle, settings that keep the server closed, uploads never written to disk."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for folder in ("recommender", "app", "benchmarks") for p in (PROJECT / folder).rglob("*.py")) \
    + [PROJECT / "streamlit_app.py"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PROJECT)))
@pytest.mark.unit
def test_no_pickle_anywhere(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
            assert not any(n.split(".")[0] in ("pickle", "joblib", "dill", "cloudpickle") for n in names)
        if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
            assert isinstance(node.value, ast.Constant) and node.value.value is False


@pytest.mark.unit
def test_recommender_package_never_imports_streamlit():
    for path in (PROJECT / "recommender").rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "streamlit" not in imported, path


@pytest.mark.unit
def test_streamlit_itself_reads_settings_that_keep_the_server_closed():
    """What `streamlit run` in the project actually uses, read back from Streamlit (not from our file)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], capture_output=True, text=True,
                          cwd=PROJECT, check=True)
    settings = tomllib.loads(done.stdout[done.stdout.index("[global]"):])["server"]
    assert settings["enableXsrfProtection"] is True and settings["address"] == "127.0.0.1"
    assert settings["maxUploadSize"] <= 20 and settings["headless"] is True


@pytest.mark.unit
def test_decoder_limits_match_the_upload_limit():
    from recommender.data.images import MAX_BYTES, MAX_PIXELS

    config = tomllib.loads((PROJECT / ".streamlit" / "config.toml").read_text())["server"]
    assert config["maxUploadSize"] * 1024 * 1024 == MAX_BYTES and MAX_PIXELS <= 50_000_000


def test_an_upload_is_never_written_to_disk(synthetic_env, tmp_path):
    """After uploads (a good one and a hostile one) no file appears in the project or the artifacts."""
    from streamlit.testing.v1 import AppTest

    def snapshot():
        return {p for root in (PROJECT, synthetic_env) for p in root.rglob("*")
                if ".venv" not in p.parts and "__pycache__" not in p.parts and ".git" not in p.parts}

    before = snapshot()
    at = AppTest.from_file(str(PROJECT / "streamlit_app.py"), default_timeout=120).run()
    photo = next((Path(__file__).parent).glob("*.py")).read_bytes()  # not an image: a hostile upload
    uploader = next(u for u in at.get("file_uploader") if u.key.startswith("upload-"))
    uploader.set_value(("../../evil.jpg", photo, "image/jpeg")).run()
    assert not at.exception and at.error
    assert not (PROJECT.parent / "evil.jpg").exists()
    assert snapshot() - before == set()
