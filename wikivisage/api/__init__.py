"""The read API for gadgets and other tools (Depictor, ISA, a gadget on the file page):
a file's and a project's pending suggestions, as JSON, read-only (docs/openapi.yaml)."""
