"""The face engine: finding, encoding and learning about faces, with no Django in it.

Nothing here touches the database, a request or a setting: the apps read rows into arrays and
call these functions (DESIGN.md's layer table; an import-linter contract keeps Django out).
"""
