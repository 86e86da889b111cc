"""Item response theory: models, quadrature, estimation, scoring, fit, linking, drift, the bank scale.

Public API (import from the modules):

- ``models``: probability, item_information, test_information, test_characteristic_curve, conditional_sem,
  to_intercept, from_intercept.
- ``quadrature``: make_quadrature(n_nodes=61, method="equal" | "gauss-hermite"), Quadrature.
- ``estimation``: calibrate(responses, model, *, item_ids, D, quadrature, anchors, guessing_prior, slope_prior)
  -> Calibration (frozen; to_frame(), summary(), aic, bic); marginal_log_likelihood.
- ``scoring``: eap, map_estimate, mle, wle, score(method=...) -> ThetaScores; lord_wingersky,
  summed_score_eap -> SummedScoreTable; theta_from_raw_score.
- ``fit``: s_x2, infit_outfit, yen_q3, benjamini_hochberg, item_fit -> ItemFit, irt_flags -> list[Flag].
- ``linking``: link(new, bank, method) -> Linking (A, B, apply()), transform.
- ``drift``: screen_anchor_drift(new, old, ...) -> DriftResult (displacement, robust z, ICC areas, released),
  robust_z, icc_areas, raju_signed_area / raju_unsigned_area.
- ``bank_scale``: calibrate_to_bank_scale(scored, item_ids, bank_params, method="stocking-lord" |
  "fixed-anchor") -> BankScaleCalibration (every item on the bank scale, anchors used and released).
- ``equating``: IRT true-score and observed-score equating, theta_for_true_score, raw_cut_from_theta,
  summed_score_distribution (Kolen & Brennan 2014 ch. 6), ItemParameters.
- ``girth_adapter``: calibrate_girth, the only module importing girth (``--engine girth``).
"""
