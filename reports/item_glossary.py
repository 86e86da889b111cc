"""The words of the item-analysis workbook: column headings, Summary labels, and the Read me glossary of
every statistic, flag code, severity, action and column a board member meets.

Data only; ``reports.item_analysis`` renders with it. CSV files keep the field names; only sheets use these.
"""
from __future__ import annotations

#: Plain-language explanations for the Read me sheet, in the order a reader meets the statistics.
READ_ME = [
    ("N", "Number of candidates whose answer to the item counts (not-reached answers are left out)."),
    ("P (p_value)", "Proportion of candidates answering correctly. Below .30 is hard, above .90 is easy."),
    ("Point-biserial (item-rest)", "Correlation between getting the item right and the score on the other "
                                   "items. Good items are .20 or more; zero or negative means strong candidates "
                                   "do no better than weak ones: check the key and the wording."),
    ("Point-biserial (item-total)", "The same correlation with the total score including the item (Iteman's "
                                    "older convention; always a little higher)."),
    ("Biserial", "The point-biserial rescaled as if 'right' came from a normal ability; larger than the "
                 "point-biserial, most useful for very easy or very hard items."),
    ("Alpha if deleted", "Reliability of the test without this item. If it is higher than the test's alpha, "
                         "the item lowers reliability."),
    ("Omits / not reached", "Candidates who skipped the item / stopped before reaching it."),
    ("Option proportion", "Share of candidates choosing each option. A distractor chosen by under 2% does "
                          "no work."),
    ("Option point-biserial", "For the key it should be positive; for a distractor, negative. A distractor "
                              "with a positive value attracts strong candidates: check the key."),
    ("Quantile table", "Candidates split into score groups from lowest to highest; the share choosing each "
                       "option in each group. The key should rise from left to right."),
    ("Alpha (KR-20)", "Reliability: how consistently the test ranks candidates, from 0 to 1. Certification "
                      "exams aim for .80 or more; the interval is Feldt's 95% confidence interval."),
    ("SEM", "Standard error of measurement: the typical distance between a candidate's observed and true "
            "score, in raw-score points."),
    ("CSEM", "Conditional SEM: the SEM at a particular score, most important at the cut score."),
    ("a, b, c (IRT)", "Item response theory parameters: a = discrimination (slope), b = difficulty on the "
                      "ability scale θ, c = chance of a correct guess by very weak candidates."),
    ("Item fit (S-X²)", "Whether the IRT model describes the item; a small adjusted p-value means it does not."),
    ("Test information", "How precisely the test measures at each ability level; higher is more precise. "
                         "CSEM(θ) = 1 / √information."),
    ("DIF (Mantel–Haenszel)", "Whether candidates of equal total score but different language answer the "
                              "item differently. ETS class A = negligible, B = moderate, C = large: review "
                              "the translation."),
    ("Δ_MH", "The ETS delta difference: negative means the item is harder for the focal group (Spanish)."),
    ("Logistic-regression DIF", "A second DIF test; ΔR² says how much the language group adds to explaining "
                                "the answer (Zumbo–Thomas and Jodoin–Gierl classes A/B/C)."),
    ("θ (theta)", "Ability on the bank's IRT scale (0 = average of the calibration group)."),
    ("Scaled score", "The reported score: the same scaled cut (e.g. 500) means the same standard on every form."),
    ("Flags", "Reasons to look at an item, with a severity (review, severe, critical) and a suggested action "
              "(keep, revise, retire, check key)."),
]


#: Column headings in the reader's words (the frames keep their field names; CSV outputs use those).
HEADERS = {
    "item_id": "Item", "area": "Area", "key": "Key", "pretest": "Pretest", "n": "N", "p_value": "P",
    "p_value_en": "P (English)", "p_value_es": "P (Spanish)", "point_biserial": "Rpbis (item-rest)",
    "point_biserial_total": "Rpbis (item-total)", "biserial": "Biserial", "alpha_if_deleted": "Alpha if deleted",
    "omits": "Omits", "omit_rate": "Omit rate", "not_reached": "Not reached",
    "mean_total_correct": "Mean total, right", "mean_total_incorrect": "Mean total, wrong",
    "n_flags": "Flags", "severity": "Worst flag", "flags": "Flag codes", "suggested_action": "Suggested action",
    "group": "Candidates", "option": "Option", "is_key": "Key?", "proportion": "Proportion",
    "mean_total": "Mean total of choosers", "sd_total": "SD total of choosers", "source": "Source",
    "code": "Flag", "detail": "About", "value": "Value", "reason": "Reason",
    "p_history": "P by administration",
    "n_items": "Items", "mean": "Mean", "sd": "SD", "alpha": "Alpha",
    "n_ref": "N English", "n_focal": "N Spanish", "mh_chi2": "MH χ²", "mh_p": "MH p", "alpha_mh": "α MH",
    "delta_mh": "Δ MH", "delta_se": "SE of Δ", "ets_class": "ETS class", "lr_chi2_uniform": "LR χ² uniform",
    "lr_chi2_nonuniform": "LR χ² non-uniform", "lr_chi2_both": "LR χ² both", "lr_p": "LR p",
    "delta_r2": "ΔR²", "zt_class": "Zumbo–Thomas", "jg_class": "Jodoin–Gierl", "std_p_dif": "STD P-DIF",
    "flagged": "Flagged", "ets_level": "ETS level", "mh_p_adjusted": "MH p (adjusted)",
    "lr_p_adjusted": "LR p (adjusted)", "lr_p_uniform": "LR p uniform", "lr_p_nonuniform": "LR p non-uniform",
    "delta_r2_uniform": "ΔR² uniform", "delta_r2_nonuniform": "ΔR² non-uniform", "disadvantaged": "Harder for",
    "in_anchor": "In matching score", "rank": "Rank", "stem": "Start of the English stem", "action": "Action",
    "problem": "The problem", "why": "Why this action", "evidence": "Evidence", "groups": "Holds for",
    "codes": "Flag codes", "n_problems": "Problems", "version": "Version", "score_min": "Lowest score",
    "score_max": "Highest score", "group_n": "Candidates in group", "frequency": "Candidates", "csem": "CSEM",
    "information": "Information", "stem_en": "English text", "stem_es": "Spanish text",
    "a": "a (slope)", "b": "b (difficulty)", "c": "c (guessing)", "se_a": "SE a", "se_b": "SE b", "se_c": "SE c",
    "fixed": "Anchor", "s_x2": "S-X²", "df": "df", "sx2_p": "S-X² p", "sx2_p_adjusted": "S-X² p (adjusted)",
    "n_used": "N used", "infit": "Infit", "outfit": "Outfit", "infit_zstd": "Infit z", "outfit_zstd": "Outfit z",
    "max_abs_q3": "Max |Q3|", "raw_score": "Raw score", "theta": "θ", "scaled": "Scaled score",
    "decision": "Decision",
}

#: Labels of the Summary sheet's numbers.
SUMMARY_LABELS = {
    "n": "Candidates", "n_items": "Scored items", "mean": "Mean raw score", "sd": "SD of raw scores",
    "min": "Lowest raw score", "max": "Highest raw score", "median": "Median raw score",
    "alpha": "Reliability (KR-20 / coefficient alpha)", "alpha_ci_low": "Reliability, 95% CI lower (Feldt)",
    "alpha_ci_high": "Reliability, 95% CI upper (Feldt)", "sem": "Standard error of measurement (raw points)",
    "mean_p": "Mean item P", "mean_point_biserial": "Mean item-rest point-biserial", "cut": "Raw passing score",
    "pass_rate": "Pass rate", "irt_model": "IRT model", "irt_converged": "IRT calibration converged",
    "irt_log_likelihood": "IRT log-likelihood", "linking_A": "Linking constant A (Stocking–Lord)",
    "linking_B": "Linking constant B (Stocking–Lord)",
}



#: Flag codes in plain words (the Flags sheet's "Flag" column and the action list's codes).
CODE_GLOSSARY = [
    ("KEY_CHECK_TOP_GROUP", "A wrong answer (distractor) was chosen by more of the highest scorers than the key: "
                            "the key is probably wrong."),
    ("KEY_CHECK_RPBIS", "A distractor correlates with the rest of the test at least as well as the key: check "
                        "the key."),
    ("RPBIS_NEGATIVE", "Weaker candidates did as well or better on this item than stronger ones (item–rest "
                       "correlation at or below 0): a wrong key, or a flawed item."),
    ("RPBIS_LOW", "The item separates stronger from weaker candidates only weakly (item–rest correlation below "
                  ".20 for review, below .10 severe)."),
    ("P_HIGH", "Very many candidates answered correctly (P above .90 review, .95 or more severe): the item "
               "tells candidates apart very little."),
    ("P_LOW", "Very few candidates answered correctly (P below .30 review, .20 or less severe): check the key "
              "and the wording."),
    ("NONFUNCTIONING_DISTRACTOR", "A wrong answer chosen by fewer than 2% of candidates: it distracts nobody "
                                  "and should be rewritten. All such options of an item are listed together."),
    ("OMIT_RATE", "More than 5% of candidates who reached the item left it blank: it may be unclear."),
    ("SMALL_N", "Fewer than 30 candidates counted: the statistics are unstable."),
    ("NO_VARIANCE", "Everybody (or nobody) answered correctly: the item's discrimination cannot be computed."),
    ("NO_DATA", "No candidate reached or answered the item."),
    ("IRT_SLOPE_NEGATIVE", "The IRT slope a is negative: stronger candidates do worse; check the key."),
    ("IRT_SLOPE_LOW", "The IRT slope a is below 0.3: the item barely separates candidates."),
    ("IRT_B_EXTREME", "The IRT difficulty b is beyond ±3: far too easy or too hard for this population."),
    ("IRT_C_HIGH", "The IRT guessing parameter c is above 0.35: weak candidates get it right too often."),
    ("IRT_MISFIT", "The item does not follow the IRT model (S-X² test, adjusted p below .01)."),
    ("IRT_LOCAL_DEPENDENCE", "The answers to this item and another are related beyond ability (|Q3| large): "
                             "they may cue each other."),
    ("DIF_MH_C / DIF_MH_B", "Candidates of the same total score answer differently by language "
                            "(Mantel–Haenszel): C = large, have bilingual experts compare the versions; "
                            "B = moderate, usable."),
    ("DIF_LR_C / DIF_LR_B", "The same found only by logistic regression (ΔR²)."),
]

#: Severities and actions in plain words.
TERMS = [
    ("critical", "Act before scores are released: usually a wrong key or an item that rewards weaker candidates."),
    ("severe", "Decide before the item is used again: revise it, retire it, or keep it with a reason."),
    ("review", "Worth a look; most such items are kept."),
    ("check key", "Confirm the key with the item writers; if it is wrong, rescore the candidates."),
    ("retire", "Take the item out of use."),
    ("revise", "Rewrite the item (or the option named) and pretest it again."),
    ("review (action)", "Look at the item; keeping it unchanged is usually fine."),
    ("keep", "No change needed."),
    ("Spanish takers only", "The problem shows among Spanish-language candidates but not overall: look at the "
                            "Spanish translation first."),
    ("Rpbis", "Point-biserial correlation (see above)."),
    ("Q3", "Yen's Q3: the correlation of two items' residuals after ability is taken out."),
    ("Infit / outfit", "Mean-square fit: near 1 is good; well above 1 means erratic answers, below 1 too "
                       "predictable. z = the same as a standardized statistic."),
    ("Split-half reliability", "Reliability from two halves of the test (odd vs even items, first vs last half, "
                               "a random split), stepped up to full length by the Spearman–Brown formula."),
    ("IRT calibration converged", "Yes when the estimation of the IRT parameters finished properly; no means "
                                  "the IRT numbers should not be used."),
    ("< .001", "A p-value smaller than one in a thousand."),
]

#: What each column of the sheets holds (the Read me's column entries).
COLUMN_MEANINGS = {
    "rank": "Order of the Action list: 1 is the item to decide first.",
    "item_id": "The item's id in the bank.", "area": "The content (competency) area of the item.",
    "stem": "The first words of the English question, to recognise the item.",
    "severity": "critical, severe or review: the worst problem of the item.",
    "action": "The one recommended action (check key, retire, revise, review).",
    "problem": "The item's main problem in one sentence.", "why": "How the action was chosen when flags disagree.",
    "evidence": "The numbers behind the problems, in one line.",
    "key": "The letter of the right answer.", "pretest": "Yes when the item does not count in the score.",
    "version": "The item's version in the bank.", "n": "Number of candidates counted.",
    "p_value": "P: share of candidates answering correctly (0.00–1.00).",
    "p_value_en": "P among English-language candidates.", "p_value_es": "P among Spanish-language candidates.",
    "point_biserial": "Item–rest correlation (Rpbis).", "point_biserial_total": "Item–total correlation.",
    "biserial": "Biserial correlation.", "alpha_if_deleted": "Reliability of the test without this item.",
    "omits": "Candidates who left the item blank.", "omit_rate": "Omits as a share of candidates who reached it.",
    "not_reached": "Candidates who stopped before the item.",
    "mean_total_correct": "Average total score of candidates who got the item right.",
    "mean_total_incorrect": "Average total score of candidates who got it wrong.",
    "n_flags": "Number of flags on the item.", "flags": "The item's flag codes (see the codes above).",
    "suggested_action": "The recommended action (the same as in the Action list).",
    "group": "Which candidates the row describes.", "option": "The answer option (A–F).",
    "is_key": "Yes for the right answer.", "proportion": "Share of candidates choosing the option.",
    "mean_total": "Average total score of candidates choosing the option.",
    "sd_total": "SD of the total score of candidates choosing the option.",
    "code": "The flag code (see above).", "detail": "The option(s) or other item the flag is about.",
    "groups": "The candidate groups in which the problem holds.", "value": "The statistic that raised the flag.",
    "reason": "The problem in plain words, with its numbers.", "p_history": "The item's P in each administration.",
    "n_ref": "English-language candidates in the DIF analysis.", "n_focal": "Spanish-language candidates.",
    "ets_class": "ETS DIF class: A negligible, B moderate, C large.", "delta_mh": "Mantel–Haenszel Δ (see above).",
    "mh_p": "p-value of the Mantel–Haenszel test.", "mh_p_adjusted": "The same, adjusted for testing many items.",
    "disadvantaged": "The language group for which the item is harder.",
    "in_anchor": "Yes when the item counts in the matching score of the DIF analysis.",
    "flagged": "Yes when the item shows DIF.", "stem_en": "English text.", "stem_es": "Spanish text.",
    "a": "IRT discrimination.", "b": "IRT difficulty.", "c": "IRT guessing.", "se_a": "Standard error of a.",
    "se_b": "Standard error of b.", "se_c": "Standard error of c.", "fixed": "Yes for an anchor item held fixed.",
    "s_x2": "S-X² item-fit statistic.", "sx2_p_adjusted": "Its adjusted p-value.",
    "infit": "Infit mean-square.", "outfit": "Outfit mean-square.", "max_abs_q3": "The item's largest |Q3|.",
    "n_items": "Items in the area.", "alpha": "Reliability of the area's subscore.",
    "r_": "Correlation with the subscore of area ",
    "raw_score": "Number of items right.", "theta": "θ: ability on the bank scale.",
    "scaled": "The reported scaled score.", "decision": "Pass or fail.",
}
