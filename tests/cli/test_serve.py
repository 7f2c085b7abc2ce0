"""`fleet-dashboard serve` (the Docker image's command) without a built frontend says what to do, in one line."""

from fleet_dashboard import cli
from fleet_dashboard.cli import serve


def test_serve_without_a_built_frontend_says_how_to_build_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(serve, "FRONTEND_DIR", tmp_path / ".web" / "build" / "client")

    assert cli.main(["serve"]) == 2

    err = capsys.readouterr().err
    assert "reflex export --frontend-only" in err and "fleet-dashboard run" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
