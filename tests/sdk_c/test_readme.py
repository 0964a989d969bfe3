"""The embedding guide's example in client_sdk/c/README.md compiles, warnings
as errors, against the library built here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.sdk_c.helpers import SOURCE


def test_the_readme_example_compiles(c_build: Path, tmp_path: Path) -> None:
    readme = (SOURCE / "README.md").read_text()
    [example] = re.findall(r"```c\n(.*?)```", readme, re.S)
    (tmp_path / "app.c").write_text(example)
    cmd = ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{SOURCE / 'include'}"]
    cmd += [str(tmp_path / "app.c"), f"-L{c_build}", "-llicclient", "-o", str(tmp_path / "app")]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
