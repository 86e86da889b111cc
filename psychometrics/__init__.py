"""certbank psychometrics: pure numerics — arrays and frames in, frozen result objects out.

No file paths, no bank, no spreadsheet: the application layer (``workflows``) reads files and the bank and
hands the numbers here. One subpackage per family a psychometrician would name:

* ``responses`` — the response matrix, scoring, checking a table of cells;
* ``ctt`` — classical item and test analysis;
* ``irt`` — models, quadrature, estimation, scoring, fit, linking, drift, the bank scale, IRT equating;
* ``dif`` — Mantel–Haenszel, logistic regression, the ETS rule;
* ``standards`` — standard setting, carrying a standard, scaling, decision quality;
* ``equating`` — classical equating (random groups, NEAT) and cuts through an equating;
* ``security`` — person fit, answer similarity, preknowledge, item drift, retakes;
* ``jta`` — job (practice) analysis ratings, rater agreement, area weights and item counts;
* ``flags`` (item flags with reasons), ``promotion`` (pretest review), ``simulate`` (known truths for tests).
"""
