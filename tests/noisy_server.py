"""The real server, made to write stray output the way careless code does.

Run as `python tests/noisy_server.py serve --emulator`: before every upstream
request it prints, warns and writes straight to file descriptor 1, so a test
can check that none of it reaches the protocol channel.
"""

import os
import sys
import warnings
from typing import Any

from replicas_mcp import cli
from replicas_mcp.api._http import HTTPTransport
from replicas_mcp.server import ReplicasServer

_send = HTTPTransport.request


async def _noisy_request(self: HTTPTransport, *args: Any, **kwargs: Any) -> Any:
    print("stray print from a request")  # noqa: T201 - the point of this file
    warnings.warn("stray warning from a request", UserWarning, stacklevel=1)
    os.write(1, b"stray bytes on file descriptor 1\n")
    sys.stdout.flush()
    return await _send(self, *args, **kwargs)


_init = ReplicasServer.__init__


def _noisy_init(self: ReplicasServer, **kwargs: Any) -> None:
    print("stray print while the server is built")  # noqa: T201 - the point
    _init(self, **kwargs)


if __name__ == "__main__":
    HTTPTransport.request = _noisy_request  # type: ignore[method-assign]
    ReplicasServer.__init__ = _noisy_init  # type: ignore[method-assign]
    cli.main(sys.argv[1:])
