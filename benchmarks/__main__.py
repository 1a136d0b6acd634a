"""``python -m benchmarks COMMAND [OPTIONS]``: a tooling command on the app's settings.

The tooling's management commands (``benchmarks/commands/``) are no app of the product, so
``manage.py`` does not list them: this sets Django up as ``manage.py`` does (the environment
and ``.env``, ``DJANGO_SETTINGS_MODULE`` defaulting to ``wikivisage.settings``) and runs one
with the same options, help and error handling. Without a command it lists them.
"""

from __future__ import annotations

import os
import pkgutil
import sys
from importlib import import_module
from pathlib import Path

COMMANDS = Path(__file__).resolve().parent / "commands"
USAGE = "python -m benchmarks"


def names() -> list[str]:
    return sorted(module.name for module in pkgutil.iter_modules([str(COMMANDS)]))


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in names():
        usage = f"usage: {USAGE} COMMAND [OPTIONS]; commands: {', '.join(names())}"
        if argv[:1] in ([], ["-h"], ["--help"]):
            print(usage)
            return 0
        print(f"{usage}\nunknown command: {argv[0]}", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wikivisage.settings")
    import django

    django.setup()
    command = import_module(f"benchmarks.commands.{argv[0]}").Command()
    command.run_from_argv([USAGE, *argv])  # its usage line reads "python -m benchmarks NAME"
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
