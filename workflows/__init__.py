"""The application: the one layer that opens the bank, reads and writes files, and joins bank records to
numbers. One module per job a user runs (analyse an administration, calibrate, DIF, standards and
equating, assembly and forms, the demo). ``cli.py`` calls these functions and prints their results;
``psychometrics`` does the numbers, ``reports`` renders, ``itembank`` stores.
"""
