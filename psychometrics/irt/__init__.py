"""Item response theory: models, quadrature, estimation, scoring, fit, linking."""
