"""Bytes to records and back: registers, quotes, attestations, plan files, scanner output and network
tables (`formats.scans`), the knowledge files, and spreadsheet/CSV writers that neutralise formulas.

Nothing is re-exported here: each format is its own module, imported only by the command that reads it.
"""

__all__: list[str] = []
