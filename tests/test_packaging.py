"""What ``pip install restorelab`` ships: every package of the source tree."""

from __future__ import annotations

import tomllib

from helpers import ROOT


def test_every_package_is_in_the_install():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    renamed = {path: name for name, path in config.get("package-dir", {}).items()}
    found = {renamed.get(str(init.parent.relative_to(ROOT)),
                         ".".join(init.parent.relative_to(ROOT).parts))
             for top in ("restore", "fakecloud", "datapath")
             for init in (ROOT / top).rglob("__init__.py")}
    assert found - listed == set()
