"""`replicas-mcp demo`, the README's first command, end to end."""

import os
import re
import subprocess
import sys


def test_the_demo_delegates_a_task_and_shows_reply_hooks_and_diff() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLICAS_")}

    done = subprocess.run(
        [sys.executable, "-m", "replicas_mcp", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"replica [0-9a-f-]{36} is preparing", out)
    assert "turn complete" in out
    assert "exit 0" in out
    assert "\n  diff --git a/" in out
