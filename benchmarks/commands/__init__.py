"""Django management commands of the tooling, run as ``python -m benchmarks COMMAND``."""
