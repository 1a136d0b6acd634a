"""Tooling beside the product, never shipped in its wheel and never imported by it.

Evaluation, benchmarks, seeding and the reference model server. Scripts run as
``python benchmarks/NAME.py``; the commands that need the app's database run as
``python -m benchmarks COMMAND`` (``benchmarks/commands/``). Nothing here is imported at the
package's import: ``python -m benchmarks.modelserver`` stays free of Django.
"""
