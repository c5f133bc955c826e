"""Start-up with the cyclic garbage collector paused.

A host starts the server for every conversation and waits for `tools/list`.
Until then nearly all the time goes to importing the MCP SDK and building tool
schemas: hundreds of thousands of objects, all kept for the life of the
process, which the collector would otherwise scan again and again for garbage
there is none of. Pausing it until the server is built takes about a tenth off
that wait (`bench/run.py`, P1).
"""

import gc


def pause_collector() -> None:
    gc.disable()


def resume_collector() -> None:
    """Collect again, if start-up paused it, leaving what start-up built out.

    Frozen objects are never examined again, which also keeps later
    collections short; start-up makes long-lived objects, not garbage.
    """
    if gc.isenabled():
        return

    gc.freeze()
    gc.enable()
