"""The neutral ground every certbank package may import: the error hierarchy (``certbank_core.errors``),
atomic file writing and text-safe spreadsheet cells (``certbank_core.files``), and the version.

It imports nothing from certbank's other packages, so numerics, the bank, assembly and reports can all
raise the same ``CertbankError`` and write files the same way without depending on one another.
"""

__version__ = "0.1.0"
