"""Exam-security forensics (issue 20): pure numerics, arrays and frames in, frozen results out.

- ``person_fit``: lz (Drasgow, Levine & Williams 1985), lz* (Snijders 2001) and U3 (van der Flier 1982).
- ``similarity``: identical incorrect answers between every pair of candidates, tested with the generalized
  binomial test (van der Linden & Sotaridona 2006), multiple-comparison control, clusters of linked candidates.
- ``preknowledge``: differential person functioning on an exposed item set (signed likelihood ratio, Sinharay
  2017) and items easier than their bank statistics say.
- ``retakes``: repeat candidates' gains beyond measurement error and the typical retest gain.

A statistic flags a case for review; it is never by itself proof of misconduct.
"""
