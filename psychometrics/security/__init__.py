"""Exam-security forensics (issue 20): pure numerics, arrays and frames in, frozen results out.

- ``person_fit``: lz (Drasgow, Levine & Williams 1985), lz* (Snijders 2001) and U3 (van der Flier 1982).
- ``similarity``: identical incorrect answers between every pair of candidates, tested with the generalized
  binomial test (van der Linden & Sotaridona 2006), multiple-comparison control, clusters of linked candidates.
- ``preknowledge``: differential person functioning on an exposed item set (signed likelihood ratio, Sinharay
  2017), items easier than their bank statistics say, and retakers' gains beyond measurement error and the
  typical retest gain.
- ``timing``: correct answers too fast for the item under a log-normal response-time model (van der Linden
  2006), and candidates with more of them than chance gives.

A statistic flags a case for review; it is never by itself proof of misconduct.
"""
