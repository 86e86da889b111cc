"""The classical analysis engine: items, options (distractors), score-group (quantile) tables, test statistics.

Conventions follow the Iteman 4 manual (Assessment Systems Corporation): the total score is the number
correct (omits and not-reached count as wrong); an item's N excludes candidates who did not reach it;
omits are their own row in option tables; the default item–total correlation is the *corrected* one
(item against the rest score, i.e. the total without the item), which removes the item's own variance
from the criterion (Henrysson 1963).

Formulas (population moments over the persons who reached item j; x = 0/1 item score, t = total,
r = t − x the rest score; Lord & Novick 1968, ch. 15 for item–test correlations):

    p_j = Σx / N_j                                  point-biserial  r_xt = cov(x, t) / √(p q · var t)
    cov(x, r) = cov(x, t) − p q                     var r = var t − 2 cov(x, t) + p q
    α_(−j) = (k−1)/(k−2) · (1 − (Σ_i σ_i² − σ_j²) / var(t − x_j))      (alpha if item deleted)
    option c:  cov(d_c, r) = E[d_c t] − [c = key]·p_c − p_c · E[r]  with d_c = 1 if c was chosen

The whole analysis comes from ONE count table built in a single pass: for each (item j, response code c,
total score s) the number of persons, T[j, c, s] = #{i : code_ij = c, t_i = s}  (one ``np.bincount``).
Every item, option and quantile statistic is a sum over that table:

    N_jc = Σ_s T[j,c,s],   Σ_{i: code=c} t_i = Σ_s s·T[j,c,s],   Σ_{i: code=c} t_i² = Σ_s s²·T[j,c,s]

so the cost is one pass over the (n_persons, n_items) codes plus work proportional to
n_items × 8 × (n_items + 1). Total, half-test and area scores come from popcounts of each person's answers
packed into 64-bit words against one bit mask per part (``part_sums``).

Moments inside correlations are population moments (divide by N); reported SDs are sample SDs (N − 1).
Shapes: codes (n_persons, n_items) uint8; item arrays (n_items,).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from certbank_core.errors import InputError
from psychometrics.ctt.formulas import (DEFAULT_CI_LEVEL, alpha_if_item_deleted, binomial_csem,
                                        biserial_from_point_biserial, coefficient_alpha, correlation_from_moments,
                                        disattenuated_correlation, feldt_interval, frequency_median, frequency_moments,
                                        guttman_split_half, score_groups, spearman_brown, standard_error_of_measurement)
from psychometrics.ctt.results import (GroupedAnalysis, ItemAnalysis, ItemStatistics, OptionStatistics, QuantileTable,
                                       SplitHalf, SubscoreStatistics, TestStatistics)
from psychometrics.responses.matrix import CODE_NOT_REACHED, CODE_OMIT, N_CODES, ResponseMatrix, from_cells

#: Score groups of the quantile table (Iteman 4 uses 3–7; we allow 3–9).
DEFAULT_QUANTILES = 5
MIN_QUANTILES = 3
MAX_QUANTILES = 9
#: Seed of the random split-half when the caller gives none.
DEFAULT_SPLIT_SEED = 20240501
#: Labels of the option-table rows of omits and (when they count in N) of not-reached.
OMIT_LABEL = "omit"
NOT_REACHED_LABEL = "not reached"


#: Rows per block of the counting pass: small enough that a block's index array stays in the CPU cache.
ROWS_PER_BLOCK = 2048


def part_sums(correct: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Number correct within each part (total, half-tests, areas) for every person, without BLAS.

    correct: (n_persons, n_items) bool; parts: (n_items, n_parts) 0/1. Returns (n_persons, n_parts) int32.
    Each person's answers are packed into 64-bit words and each part is a bit mask, so a part score is
    Σ_words popcount(answers & mask): a few cheap passes over n_persons words. (A float matrix product
    gives the same numbers, but a multi-threaded BLAS on a shared machine can be 10× slower than this.)
    """
    n_persons, n_items = correct.shape
    n_bytes = -(-n_items // 64) * 8
    masks = np.asarray(parts, dtype=bool).T
    if not hasattr(np, "bitwise_count"):  # numpy < 2.0
        return np.rint(correct.astype(np.float32) @ masks.T.astype(np.float32)).astype(np.int32)

    def words(bits: np.ndarray) -> np.ndarray:
        packed = np.packbits(bits, axis=1)
        packed = np.pad(packed, ((0, 0), (0, n_bytes - packed.shape[1])))
        return np.ascontiguousarray(packed).view(np.uint64)

    answer_words, mask_words = words(correct), words(masks)  # (n, w), (n_parts, w)
    out = np.zeros((n_persons, masks.shape[0]), dtype=np.int32)
    for p in range(masks.shape[0]):
        for w in range(answer_words.shape[1]):
            if mask_words[p, w]:
                out[:, p] += np.bitwise_count(answer_words[:, w] & mask_words[p, w])
    return out


def count_table(codes: np.ndarray, total: np.ndarray) -> np.ndarray:
    """T[j, c, s] = number of persons with response code c on item j and total score s.

    One ``bincount`` per block of rows over the flat index  j·(C·(k+1)) + c·(k+1) + s.
    codes: (n_persons, n_items) uint8 in 0..N_CODES−1; total: (n_persons,) int in 0..n_items.
    Returns (n_items, N_CODES, n_items + 1) int64.
    """
    n_persons, n_items = codes.shape
    n_scores = n_items + 1
    base = (np.arange(n_items, dtype=np.int32) * (N_CODES * n_scores))[None, :]
    total = total.astype(np.int32)
    counts = np.zeros(n_items * N_CODES * n_scores, dtype=np.int64)
    for start in range(0, n_persons, ROWS_PER_BLOCK):
        block = codes[start:start + ROWS_PER_BLOCK]
        idx = np.multiply(block, np.int32(n_scores), dtype=np.int32)
        idx += total[start:start + ROWS_PER_BLOCK, None]
        idx += base
        counts += np.bincount(idx.ravel(), minlength=counts.size)
    return counts.reshape(n_items, N_CODES, n_scores)


def _as_matrix(responses) -> ResponseMatrix:
    if isinstance(responses, ResponseMatrix):
        return responses
    scored = np.asarray(responses, dtype=float)
    if scored.ndim != 2:
        raise InputError("responses must be a (persons × items) array")
    missing = np.isnan(scored)
    return from_cells(scored, np.zeros_like(missing), missing)


def analyze(responses, *, quantiles: int = DEFAULT_QUANTILES, areas: Mapping[str, str] | None = None,
            corrected: bool = True, split_seed: int | None = DEFAULT_SPLIT_SEED,
            ci_level: float = DEFAULT_CI_LEVEL, label: str = "all",
            pretest: Sequence[str] = (), omits_in_n: bool = True, not_reached_in_n: bool = False) -> ItemAnalysis:
    """Full classical analysis: item, option, quantile, test and (with ``areas``) subscore statistics.

    responses: a ResponseMatrix, or a (n_persons, n_items) array of 0/1 with NaN = not presented.
    areas: item_id -> content area for subscores. corrected: item–rest (True, default) or item–total
    correlations as the headline point-biserial, the biserial and the option point-biserials.
    pretest: items that do not count in the total score (Iteman's convention for pretest items): they are
    analysed against the total of the scored items (their "rest" score is the whole total) and are left out
    of alpha, the split-halves, the subscores and the score distribution.
    omits_in_n / not_reached_in_n: whether omitted / not-reached candidates count in an item's N as wrong
    answers (Iteman's defaults: omits yes, not-reached no). The total score counts both as wrong either way.

    The item formulas (p, item–total and item–rest point-biserials from the moments of the count table) are in
    the module docstring, with their sources (Lord & Novick 1968, ch. 15; Henrysson 1963); test and subscore
    statistics use the named formulas of ``ctt_formulas``.
    """
    rm = _as_matrix(responses)
    if not MIN_QUANTILES <= quantiles <= MAX_QUANTILES:
        raise InputError(f"the number of score groups must be {MIN_QUANTILES}–{MAX_QUANTILES}, not {quantiles}")
    if rm.n_items == 0:
        raise InputError("there are no items to analyse")
    k, n = rm.n_items, rm.n_persons
    codes = rm.option_codes
    key_codes = rm.key_codes
    pretest_set = set(pretest)
    unknown = sorted(pretest_set - set(rm.item_ids))
    if unknown:
        raise InputError(f"pretest item(s) {', '.join(unknown[:10])} are not in the responses")
    in_total = np.array([i not in pretest_set for i in rm.item_ids])
    k_op = int(in_total.sum())
    if k_op == 0:
        raise InputError("every item is a pretest item: there is no total score to analyse against")
    w = in_total.astype(np.float64)  # 1 if the item counts in the total

    # ---- one pass: number-correct, half-test and area scores, and the count table ---------------------
    parts, split_defs, area_names = _part_matrix(rm.item_ids, areas, split_seed, in_total)
    part_scores = part_sums(codes == key_codes.astype(np.uint8)[None, :], parts)  # (n, n_parts) int32
    total = part_scores[:, 0].astype(np.int64)
    table = count_table(codes, total)  # (k, C, k+1)
    s = np.arange(k + 1, dtype=np.float64)
    n_jc = table.sum(axis=2).astype(np.float64)  # (k, C)
    sum_t = table @ s  # (k, C)
    sum_tt = table @ (s * s)
    frequency = table[0].sum(axis=0)  # (k+1,) every person appears once per item; zero above k_op

    # codes counted in an item's N: every option, and omits / not-reached as chosen
    counted = np.ones(N_CODES, dtype=bool)
    counted[CODE_OMIT], counted[CODE_NOT_REACHED] = omits_in_n, not_reached_in_n
    valid = counted
    rows = np.arange(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_j = n_jc[:, valid].sum(axis=1)
        n_key = n_jc[rows, key_codes]
        t_key = sum_t[rows, key_codes]
        mean_t = sum_t[:, valid].sum(axis=1) / n_j
        var_t = sum_tt[:, valid].sum(axis=1) / n_j - mean_t ** 2
        var_t = np.maximum(var_t, 0.0)
        p = n_key / n_j
        var_x = p * (1.0 - p)
        cov_xt = t_key / n_j - p * mean_t
        r_total = correlation_from_moments(cov_xt, var_x, var_t)
        # the rest score is t − x for items in the total, t itself for pretest items
        cov_xr = cov_xt - w * var_x
        var_r = np.maximum(var_t - w * (2.0 * cov_xt - var_x), 0.0)
        r_rest = correlation_from_moments(cov_xr, var_x, var_r)
        mean_right = t_key / n_key
        mean_wrong = (sum_t[:, valid].sum(axis=1) - t_key) / (n_j - n_key)
    r_main = r_rest if corrected else r_total
    p = np.where(n_j > 0, p, np.nan)

    # ---- alpha and alpha-if-deleted over everyone (not reached = 0, as in the total) --------------------
    with np.errstate(divide="ignore", invalid="ignore"):
        p_all = n_key / n
        var_items = p_all * (1.0 - p_all) * w  # pretest items contribute no variance to the total
        mean_total = float(total.mean()) if n else float("nan")
        var_total = float(np.mean((total - mean_total) ** 2)) if n else float("nan")
        alpha = coefficient_alpha(var_items[in_total], var_total)
        cov_all = t_key / n - p_all * mean_total
    alpha_if_deleted = np.where(in_total, alpha_if_item_deleted(var_items, var_total, cov_all, k_op), np.nan)

    key_labels = tuple(_label(rm, item, int(c)) for item, c in zip(rm.item_ids, key_codes))
    items = ItemStatistics(
        item_ids=rm.item_ids, key=key_labels, pretest=~in_total, n=n_j.astype(np.int64),
        n_reached=n_jc[:, :CODE_NOT_REACHED].sum(axis=1).astype(np.int64), p_value=p,
        point_biserial=r_rest,
        point_biserial_total=r_total, biserial=biserial_from_point_biserial(r_main, p),
        alpha_if_deleted=alpha_if_deleted, omits=n_jc[:, CODE_OMIT].astype(np.int64),
        not_reached=n_jc[:, CODE_NOT_REACHED].astype(np.int64),
        mean_total_correct=np.where(n_key > 0, mean_right, np.nan),
        mean_total_incorrect=np.where(n_j - n_key > 0, mean_wrong, np.nan))

    options = _option_statistics(rm, key_codes, n_jc, sum_t, sum_tt, n_j, mean_t, var_t, var_r, p, w, corrected,
                                 counted)
    groups = score_groups(frequency, quantiles)
    quant = _quantile_table(rm, key_codes, table, frequency, groups, quantiles, counted)
    test = _test_statistics(total, frequency[:k_op + 1], k_op, alpha, ci_level, part_scores, split_defs,
                            p[in_total], r_main[in_total])
    subs = _subscores(part_scores, area_names, len(split_defs), parts, var_items) if area_names else None
    return ItemAnalysis(label=label, items=items, options=options, quantiles=quant, test=test, subscores=subs,
                        corrected=corrected, omits_in_n=omits_in_n, not_reached_in_n=not_reached_in_n)


def analyze_by_group(responses: ResponseMatrix, group_column: str | None = None, **kwargs) -> GroupedAnalysis:
    """``analyze`` for everyone and separately for each value of ``group_column`` (e.g. 'language')."""
    combined = analyze(responses, label="all", **kwargs)
    if group_column is None:
        return GroupedAnalysis(column=None, combined=combined)
    if group_column not in responses.groups.columns:
        have = ", ".join(responses.groups.columns) or "none"
        raise InputError(f"there is no group column '{group_column}' in the responses (group columns: {have})")
    values = responses.groups[group_column].astype(str).to_numpy()
    results = []
    for value in sorted(set(values)):
        results.append(analyze(responses.subset(values == value), label=f"{group_column}={value}", **kwargs))
    return GroupedAnalysis(column=group_column, combined=combined, groups=tuple(results))


def _label(rm: ResponseMatrix, item: str, code: int) -> str:
    if rm.options is None:
        return ("0", "1")[code]
    return "ABCDEF"[code]


def _part_matrix(item_ids, areas, split_seed, in_total):
    """Columns: total, first halves of the odd–even, first–last and random splits, then one per area.

    Only items in the total (not pretest) take part; halves are formed over their positions.
    """
    k = len(item_ids)
    ops = np.flatnonzero(in_total)
    k_op = len(ops)
    pos = np.arange(k_op)

    def half(mask_over_ops):
        full = np.zeros(k, dtype=bool)
        full[ops[mask_over_ops]] = True
        return full

    splits = [("odd_even", half(pos % 2 == 0), None), ("first_last", half(pos < (k_op + 1) // 2), None)]
    rng = np.random.default_rng(split_seed)
    random_half = np.zeros(k_op, dtype=bool)
    random_half[rng.permutation(k_op)[: (k_op + 1) // 2]] = True
    splits.append(("random", half(random_half), split_seed))
    cols = [in_total.astype(float)] + [m.astype(float) for _, m, _ in splits]
    area_names: tuple[str, ...] = ()
    if areas:
        of_item = [str(areas.get(i, "")) for i in item_ids]
        missing = [i for i, a in zip(item_ids, of_item) if a == ""]
        if missing:
            raise InputError(f"no content area for item(s) {', '.join(missing[:10])}"
                             + (" ..." if len(missing) > 10 else ""))
        area_names = tuple(dict.fromkeys(sorted(a for a, op in zip(of_item, in_total) if op)))
        cols += [np.array([a == name for a in of_item], dtype=float) * in_total for name in area_names]
    return np.stack(cols, axis=1).astype(np.float32), splits, area_names


def _shown_codes(rm, counted: np.ndarray) -> np.ndarray:
    """(n_items, N_CODES) bool: the rows of option and quantile tables — each offered option, the omits, and
    the not-reached when they count in N."""
    n_opts = np.array([len(rm.option_labels(i)) for i in rm.item_ids])
    code = np.arange(N_CODES)[None, :]
    return (code < n_opts[:, None]) | (code == CODE_OMIT) | ((code == CODE_NOT_REACHED) & counted[CODE_NOT_REACHED])


def _option_statistics(rm, key_codes, n_jc, sum_t, sum_tt, n_j, mean_t, var_t, var_r, p, w, corrected, counted):
    """Option rows: each offered option, then omits (and not-reached if they count in N). Point-biserial of the
    choice indicator d against the rest score r = t − x_j (Lord & Novick 1968, ch. 15, applied to each option as
    in the Iteman 4 manual's option statistics; the covariance of a difference, ibid. ch. 2):
        cov(d, r) = E[d·t] − [c is key]·p_c − p_c·(E[t] − p),   over the persons counted in the item's N.
    Rows of codes not counted in N (omits with ``omits_in_n=False``) get n and mean_total but no proportion.
    """
    code = np.arange(N_CODES)[None, :]
    keep = _shown_codes(rm, counted)
    is_key = code == key_codes[:, None]
    nj = n_j[:, None]
    cnt, st, stt = n_jc, sum_t, sum_tt
    with np.errstate(divide="ignore", invalid="ignore"):
        prop = cnt / nj
        var_d = prop * (1.0 - prop)
        if corrected:
            cov = (st - w[:, None] * is_key * cnt) / nj - prop * (mean_t - w * p)[:, None]
            r = correlation_from_moments(cov, var_d, var_r[:, None])
        else:
            cov = st / nj - prop * mean_t[:, None]
            r = correlation_from_moments(cov, var_d, var_t[:, None])
        mean = st / cnt
        sd = np.sqrt(np.maximum(stt - cnt * mean ** 2, 0.0) / (cnt - 1))
    in_n = counted[None, :] & (nj > 0)
    mean = np.where(cnt > 0, mean, np.nan)
    sd = np.where(cnt > 1, sd, np.nan)
    prop = np.where(in_n, prop, np.nan)
    r = np.where(in_n, r, np.nan)
    labels = _option_label_table(rm)
    item_col = np.repeat(np.array(rm.item_ids, dtype=object)[:, None], N_CODES, axis=1)
    return OptionStatistics(item_id=item_col[keep], option=labels[keep], is_key=is_key[keep],
                            n=cnt[keep].astype(np.int64), proportion=prop[keep], point_biserial=r[keep],
                            mean_total=mean[keep], sd_total=sd[keep])


def _option_label_table(rm) -> np.ndarray:
    """(n_items, N_CODES) object: each response code's row label per item ('' for options it does not offer)."""
    rows = []
    for item in rm.item_ids:
        labels = list(rm.option_labels(item))
        rows.append(labels[:CODE_OMIT] + [""] * (CODE_OMIT - len(labels)) + [OMIT_LABEL, NOT_REACHED_LABEL])
    return np.array(rows, dtype=object)


def _quantile_table(rm, key_codes, table, frequency, groups, n_groups, counted) -> QuantileTable:
    k = rm.n_items
    onehot = np.zeros((k + 1, n_groups))
    onehot[np.arange(k + 1), groups] = 1.0
    by_group = table @ onehot  # (k, N_CODES, G)
    n_jg = by_group[:, counted, :].sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        prop = np.where((n_jg > 0) & counted[None, :, None], by_group / n_jg, np.nan)
    score = np.arange(k + 1)
    present = frequency > 0
    in_group = (groups[None, :] == np.arange(n_groups)[:, None]) & present[None, :]  # (G, k+1)
    filled = in_group.any(axis=1)
    gmin = np.where(filled, np.where(in_group, score, k + 1).min(axis=1), np.nan)
    gmax = np.where(filled, np.where(in_group, score, -1).max(axis=1), np.nan)
    gn = np.bincount(groups, weights=frequency, minlength=n_groups).astype(np.int64)

    code = np.arange(N_CODES)
    keep3 = np.broadcast_to(_shown_codes(rm, counted)[:, :, None], prop.shape)
    labels = _option_label_table(rm)
    shape = prop.shape
    item_col = np.broadcast_to(np.array(rm.item_ids, dtype=object)[:, None, None], shape)
    opt_col = np.broadcast_to(labels[:, :, None], shape)
    key_col = np.broadcast_to((code[None, :] == key_codes[:, None])[:, :, None], shape)
    grp_col = np.broadcast_to(np.arange(1, n_groups + 1)[None, None, :], shape)
    return QuantileTable(n_groups=n_groups, group_score_min=gmin, group_score_max=gmax, group_n=gn,
                         item_id=item_col[keep3], option=opt_col[keep3], is_key=key_col[keep3],
                         group=grp_col[keep3], n=by_group[keep3].astype(np.int64), proportion=prop[keep3])


def _test_statistics(total, frequency, k, alpha, ci_level, part_scores, split_defs, p, r_main) -> TestStatistics:
    n = int(frequency.sum())
    mean, sd, skew, kurt = frequency_moments(frequency)
    present = np.flatnonzero(frequency)
    halves = []
    for col, (method, mask, seed) in enumerate(split_defs, start=1):
        h1 = part_scores[:, col].astype(np.float64)
        h2 = total - h1
        if n > 1 and 0 < mask.sum() < k:
            v1, v2, vt = h1.var(), h2.var(), total.var()
            r = float(correlation_from_moments(np.mean((h1 - h1.mean()) * (h2 - h2.mean())), v1, v2))
            guttman = guttman_split_half(v1, v2, vt)
        else:
            r, guttman = float("nan"), float("nan")
        halves.append(SplitHalf(method=method, n_items_first=int(mask.sum()), n_items_second=int(k - mask.sum()),
                                correlation=r, spearman_brown=spearman_brown(r), guttman=guttman, seed=seed))
    sem = standard_error_of_measurement(sd, alpha)
    with np.errstate(invalid="ignore"):
        mean_p = float(np.nanmean(p)) if np.isfinite(p).any() else float("nan")
        mean_r = float(np.nanmean(r_main)) if np.isfinite(r_main).any() else float("nan")
    return TestStatistics(
        n_persons=n, n_items=k, mean=mean, sd=sd,
        minimum=float(present.min()) if n else float("nan"), maximum=float(present.max()) if n else float("nan"),
        median=frequency_median(frequency), skew=skew, kurtosis=kurt, alpha=alpha,
        alpha_ci=feldt_interval(alpha, n, k, ci_level), ci_level=ci_level, sem=sem, mean_p=mean_p,
        mean_point_biserial=mean_r, split_halves=tuple(halves), frequency=frequency.astype(np.int64),
        csem=binomial_csem(k))


def _subscores(part_scores, area_names, n_splits, parts, var_items) -> SubscoreStatistics:
    first = 1 + n_splits
    sub = part_scores[:, first:].astype(np.float64)  # (n, n_areas)
    member = parts[:, first:].astype(bool)  # (k, n_areas)
    n = sub.shape[0]
    m = member.sum(axis=0)
    mean = sub.mean(axis=0) if n else np.full(len(area_names), np.nan)
    var = sub.var(axis=0) if n else np.full(len(area_names), np.nan)
    sd = np.sqrt(var * n / (n - 1)) if n > 1 else np.full(len(area_names), np.nan)
    alpha = np.array([coefficient_alpha(var_items[member[:, a]], var[a]) for a in range(len(area_names))])
    if n > 1:
        centred = sub - mean
        cov = centred.T @ centred / n
        corr = correlation_from_moments(cov, var[:, None], var[None, :])
    else:
        corr = np.full((len(area_names),) * 2, np.nan)
    return SubscoreStatistics(areas=area_names, n_items=m, mean=mean, sd=sd, alpha=alpha, correlations=corr,
                              disattenuated=disattenuated_correlation(corr, alpha))
