"""``--model PREFIX:NAME`` plug-ins (:mod:`benchmark.model.model_source`): found through the ``gonerd_bench.resolvers``
entry points or, for a checkout whose installed metadata is older, :data:`BUNDLED`; pyproject.toml declares the
same ones; the harness imports no plug-in package itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from types import SimpleNamespace

import pytest
import tomllib

from benchmark.errors import BenchmarkError
from benchmark.model import model_source
from conftest import ROOT


def test_bundled_plugins_are_the_declared_entry_points():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"][model_source.ENTRY_POINT_GROUP] == model_source.BUNDLED


def test_benchmark_and_gonerd_import_no_package_above_them():
    """benchmark never imports baselines; gonerd imports neither (the packages stack gonerd < benchmark < baselines)."""
    above = {"benchmark": {"baselines"}, "gonerd": {"benchmark", "baselines"}}
    for package, forbidden in above.items():
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                assert not {n.split(".")[0] for n in names} & forbidden, (
                    f"{path.relative_to(ROOT)} imports {names}"
                )


def test_baseline_prefix_resolves_in_a_fresh_process_without_importing_baselines_first():
    code = (
        "import sys\n"
        "from benchmark.model.model_source import resolve_baseline\n"
        "assert 'baselines' not in sys.modules\n"
        "r = resolve_baseline('baseline:distil-longformer', tokenizer_from=None, trust_remote_code=False)\n"
        "assert 'baselines.plugin' in sys.modules\n"
        "print(r.path)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip()


def test_entry_points_and_bundled_load_once_each(monkeypatch):
    calls: list[str] = []
    plugin = SimpleNamespace(register=lambda: calls.append("ep"), other=lambda: calls.append("bundled"))
    monkeypatch.setitem(sys.modules, "fake_plugin_pkg", plugin)
    ep = SimpleNamespace(name="fake", value="fake_plugin_pkg:register")
    monkeypatch.setattr(
        "importlib.metadata.entry_points", lambda group: [ep] if group == "gonerd_bench.resolvers" else []
    )
    monkeypatch.setattr(
        model_source, "BUNDLED", {"fake": "fake_plugin_pkg:other", "gone": "no_such_pkg_xyz:register"}
    )
    monkeypatch.setattr(model_source, "_loaded", False)
    monkeypatch.setattr(model_source, "_SOURCES", {})
    model_source.load_plugins()
    model_source.load_plugins()
    assert calls == [
        "ep"
    ]  # the installed entry point wins over the bundled name; a missing package is skipped


def test_a_registered_source_resolves_and_expands(monkeypatch):
    entry = SimpleNamespace(hub_id="org/m", revision="abc", tokenizer_from="org/m", trust_remote_code=False)

    class Source:
        def resolve(self, name):
            if name not in ("x:m", "m"):
                raise BenchmarkError(f"{name}: unknown")
            return entry

        def entries(self):
            return [entry]

        def expand(self, name):
            return ["x:m"] if name == "x:all" else None

    monkeypatch.setattr(model_source, "_loaded", True)
    monkeypatch.setattr(model_source, "_SOURCES", {})
    model_source.register_resolver("x:", Source())
    assert model_source.expand_models(["x:all", "x:m", "org/other"]) == ["x:m", "org/other"]
    assert model_source.lookup("x:", "m") is entry
    with pytest.raises(BenchmarkError, match="none is installed"):
        model_source.lookup("y:", "n")
    with pytest.raises(BenchmarkError, match="baselines package, which is not installed"):
        model_source.resolve_baseline("baseline:a", tokenizer_from=None, trust_remote_code=False)
