"""`python -m replicas_mcp` and the `replicas-mcp` console script."""

from .startup import pause_collector


def main() -> None:
    # Before the command-line module and the SDK it imports are loaded.
    pause_collector()

    from .cli import main as run

    run()


if __name__ == "__main__":
    main()
