"""Linking constants against known scale transformations; item fit and flags against planted misfit."""
import numpy as np
import pandas as pd
import pytest

from certbank_core.errors import EstimationError, InputError
from psychometrics.flags import Flag
from psychometrics.irt import fit, linking
from psychometrics.irt.estimation import calibrate
from psychometrics.simulate import simulate_items, simulate_responses


@pytest.fixture(scope="module")
def bank_items():
    items = simulate_items(20, np.random.default_rng(3), model="3pl")
    return pd.DataFrame({"item_id": items.item_ids, "a": items.a, "b": items.b, "c": items.c})


def to_new_scale(bank, A, B):
    # θ_bank = A θ_new + B  ⇔  b_new = (b_bank − B)/A, a_new = A a_bank
    return bank.assign(a=bank.a * A, b=(bank.b - B) / A)


@pytest.mark.parametrize("method", linking.METHODS)
def test_every_method_recovers_an_exact_transformation(bank_items, method):
    new = to_new_scale(bank_items, 1.3, -0.4)
    res = linking.link(new, bank_items, method)
    assert res.A == pytest.approx(1.3, abs=1e-5)
    assert res.B == pytest.approx(-0.4, abs=1e-5)
    back = res.apply(new)
    np.testing.assert_allclose(back.b, bank_items.b, atol=1e-4)
    np.testing.assert_allclose(back.a, bank_items.a, atol=1e-4)


def test_mean_sigma_hand_worked():
    # b_new = [-1, 0, 1] (sd sqrt(2/3)), b_bank = [-1.5, 0.5, 2.5] (sd 2 sqrt(2/3)): A = 2, B = 0.5
    new = pd.DataFrame({"item_id": ["i1", "i2", "i3"], "a": [1.0, 1.0, 1.0], "b": [-1.0, 0.0, 1.0]})
    bank = pd.DataFrame({"item_id": ["i1", "i2", "i3"], "a": [0.5, 0.5, 0.5], "b": [-1.5, 0.5, 2.5]})
    res = linking.link(new, bank, "mean-sigma")
    assert (res.A, res.B) == (pytest.approx(2.0), pytest.approx(0.5))
    mm = linking.link(new, bank, "mean-mean")
    assert mm.A == pytest.approx(2.0)        # mean a_new / mean a_bank = 1 / 0.5


def test_characteristic_curve_methods_beat_moments_with_noisy_estimates(bank_items):
    rng = np.random.default_rng(1)
    new = to_new_scale(bank_items, 0.8, 0.3)
    noisy = new.assign(b=new.b + rng.normal(0, 0.1, len(new)), a=new.a * np.exp(rng.normal(0, 0.1, len(new))))
    for method in ("haebara", "stocking-lord"):
        res = linking.link(noisy, bank_items, method)
        assert res.A == pytest.approx(0.8, abs=0.08) and res.B == pytest.approx(0.3, abs=0.08)


def test_linking_needs_common_items(bank_items):
    other = bank_items.assign(item_id=[f"X{i}" for i in range(len(bank_items))])
    with pytest.raises(EstimationError, match="at least 2 common items"):
        linking.link(other, bank_items)
    with pytest.raises(InputError):
        linking.link(bank_items, bank_items, "equipercentile")


def test_benjamini_hochberg_hand_worked():
    # p = .01, .04, .03, .20 (m = 4): sorted .01 .03 .04 .20 → .04, .06, .0533, .20 → monotone .04 .0533 .0533 .2
    adj = fit.benjamini_hochberg([0.01, 0.04, 0.03, 0.20])
    np.testing.assert_allclose(adj, [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.20])
    assert np.isnan(fit.benjamini_hochberg([np.nan, 0.5])[0])


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(5)
    items = simulate_items(20, rng, model="rasch")
    theta = rng.normal(0, 1, 3000)
    x = simulate_responses(theta, items.a, items.b, rng=rng)
    x[:, 0] = (theta + rng.normal(0, 0.1, 3000) > 0).astype(float)     # a step function, not a Rasch item
    copy = rng.random(3000) < 0.4
    x[copy, 2] = x[copy, 1]                                             # item 3 often repeats item 2
    cal = calibrate(x, "rasch", item_ids=items.item_ids)
    return x, cal, fit.item_fit(x, cal)


def test_fit_finds_planted_misfit_and_dependence_and_little_else(planted):
    x, cal, res = planted
    frame = res.to_frame()
    assert frame.p_adjusted.iloc[0] < 1e-6
    assert (frame.p_adjusted.iloc[3:] < 0.01).sum() <= 1
    # a Rasch-conforming item has mean squares near 1; the step item is overfit (< 1)
    assert frame.infit.iloc[5:].between(0.85, 1.15).all() and frame.outfit.iloc[5:].between(0.8, 1.2).all()
    assert frame.outfit.iloc[0] < 0.8
    pairs = res.q3_pairs()
    assert set(pairs.iloc[0][["item_1", "item_2"]]) == {cal.item_ids[1], cal.item_ids[2]}
    flags = fit.irt_flags(cal, res)
    assert all(isinstance(f, Flag) and f.source == "irt" for f in flags)
    codes = {(f.item_id, f.code) for f in flags}
    assert (cal.item_ids[0], fit.IRT_MISFIT) in codes
    assert (cal.item_ids[1], fit.IRT_LOCAL_DEPENDENCE) in codes


def test_parameter_flags_have_reasons():
    class Cal:
        item_ids = ("i1", "i2", "i3", "i4")
        a = np.array([0.2, -0.5, 1.0, 1.0])
        b = np.array([0.0, 0.0, 3.5, 0.0])
        c = np.array([0.0, 0.0, 0.0, 0.4])
    flags = fit.irt_flags(Cal)
    got = {(f.item_id, f.code, f.suggested_action) for f in flags}
    assert got == {("i1", fit.IRT_SLOPE_LOW, "revise"), ("i2", fit.IRT_SLOPE_NEGATIVE, "check key"),
                   ("i3", fit.IRT_B_EXTREME, "revise"), ("i4", fit.IRT_C_HIGH, "revise")}
    assert "0.20" in next(f.reason for f in flags if f.item_id == "i1")


def test_s_x2_matches_definition_on_a_small_test():
    # 4 items, recompute E_jk by brute-force enumeration of patterns
    import itertools

    from psychometrics.irt.models import probability
    from psychometrics.irt.quadrature import make_quadrature
    a, b = np.array([1.0, 1.5, 0.7, 1.2]), np.array([-0.5, 0.0, 0.5, 1.0])
    rng = np.random.default_rng(0)
    x = simulate_responses(rng.normal(size=4000), a, b, rng=rng)
    quad = make_quadrature()
    w = quad.weights_for()
    p = probability(quad.nodes, a, b)
    pats = np.array(list(itertools.product([0, 1], repeat=4)), dtype=float)
    like = np.array([np.prod(np.where(pt == 1, p, 1 - p), axis=1) for pt in pats]) @ w
    j = 1
    e = [like[(pats.sum(1) == k) & (pats[:, j] == 1)].sum() / like[pats.sum(1) == k].sum() for k in (1, 2, 3)]
    tot = x.sum(1)
    n_k = np.array([(tot == k).sum() for k in (1, 2, 3)])
    o = np.array([x[tot == k, j].mean() for k in (1, 2, 3)])
    stat = float(np.sum(n_k * (o - e) ** 2 / (np.array(e) * (1 - np.array(e)))))
    res = fit.s_x2(x, a, b, min_expected=0.0)
    assert res.s_x2.iloc[j] == pytest.approx(stat, rel=1e-8)
    assert res.df.iloc[j] == 3 - 2


@pytest.mark.parametrize("model", ["2pl", "3pl"])
def test_s_x2_streaming_leave_one_out_equals_the_table(monkeypatch, model):
    """Wide forms take each item back out of the full score distribution (memory items × nodes) instead of
    building the items × scores × nodes table: same expected proportions wherever a score can occur, same S-X²."""
    from psychometrics.irt import scoring
    from psychometrics.irt.models import probability
    from psychometrics.irt.quadrature import make_quadrature
    from psychometrics.simulate import simulate_dataset

    sim = simulate_dataset(3000, 80, np.random.default_rng(21), model=model)
    it = sim.items
    nodes, w = make_quadrature().grid_for(0.0, 1.0)
    p = probability(nodes, it.a, it.b, it.c, 1.0)
    full = scoring.lord_wingersky(it.a, it.b, it.c, D=1.0, theta=nodes)
    den = full @ w
    monkeypatch.setattr(fit, "LEAVE_ONE_OUT_TABLE_BYTES", 1 << 40)
    table = fit._expected_correct(p, w, full, den)
    by_table = fit.s_x2(sim.responses, it.a, it.b, it.c, D=1.0)
    monkeypatch.setattr(fit, "LEAVE_ONE_OUT_TABLE_BYTES", 0)
    streamed = fit._expected_correct(p, w, full, den)
    by_stream = fit.s_x2(sim.responses, it.a, it.b, it.c, D=1.0)
    reachable = den[1:80] > 1e-12
    np.testing.assert_allclose(streamed[:, reachable], table[:, reachable], atol=1e-6)
    assert ((streamed >= 0) & (streamed <= 1)).all()
    np.testing.assert_allclose(by_stream.s_x2, by_table.s_x2, rtol=1e-9)
    np.testing.assert_allclose(by_stream.p_value, by_table.p_value, rtol=1e-8, atol=1e-15)


def test_wide_form_fit_stays_small():
    """600 items: the leave-one-out table would be 176 MB; item fit streams it and stays far below."""
    import tracemalloc

    from psychometrics.irt.estimation import calibrate
    from psychometrics.simulate import simulate_dataset

    sim = simulate_dataset(200, 600, np.random.default_rng(4), model="2pl")
    cal = calibrate(sim.responses, model="2pl", standard_errors=False)
    tracemalloc.start()
    try:
        result = fit.item_fit(sim.responses, cal)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 60 * 2 ** 20, peak
    assert np.isfinite(result.items["s_x2"]).any()


def test_infit_outfit_and_q3_in_person_blocks_match_their_definitions(monkeypatch):
    # the blocked column sums against the textbook formulas (Wright & Masters 1982; Yen 1984), with missing
    # cells and blocks of 256 persons (the data span several); Q3 against pandas' pairwise-complete Pearson r
    import pandas as pd

    from psychometrics.irt import fit as fit_module
    from psychometrics.irt.models import probability

    rng = np.random.default_rng(21)
    items = simulate_items(6, rng, model="3pl")
    theta = rng.normal(size=1000)
    x = simulate_responses(theta, items.a, items.b, items.c, rng=rng).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan
    monkeypatch.setattr(fit_module, "_FIT_BLOCK", 10)      # 256-person blocks: four of them
    got = fit_module.infit_outfit(x, theta, items.a, items.b, items.c)
    q3 = fit_module.yen_q3(x, theta, items.a, items.b, items.c)
    p = probability(theta, items.a, items.b, items.c)
    for j in range(6):
        seen = ~np.isnan(x[:, j])
        y, pj = x[seen, j], p[seen, j]
        w = pj * (1 - pj)
        c4 = w * ((1 - pj) ** 3 + pj ** 3)
        infit = np.sum((y - pj) ** 2) / np.sum(w)
        outfit = np.mean((y - pj) ** 2 / w)
        q_out = np.sqrt(np.sum(c4 / w ** 2) / seen.sum() ** 2 - 1 / seen.sum())
        q_in = np.sqrt(np.sum(c4 - w ** 2) / np.sum(w) ** 2)
        assert got.infit[j] == pytest.approx(infit, rel=1e-10)
        assert got.outfit[j] == pytest.approx(outfit, rel=1e-10)
        assert got.outfit_zstd[j] == pytest.approx((np.cbrt(outfit) - 1) * 3 / q_out + q_out / 3, rel=1e-9)
        assert got.infit_zstd[j] == pytest.approx((np.cbrt(infit) - 1) * 3 / q_in + q_in / 3, rel=1e-9)
    reference = pd.DataFrame(x - p).corr().to_numpy()      # pairwise complete, NaN where x is missing
    assert np.allclose(q3, reference, atol=1e-10)


def _pool_by_rescanning(n_k, o_k, e_k, min_expected):
    """The pooling rule read literally (the reference): each round merges a small head into its neighbour and
    then a small tail into its neighbour; only when neither is small, the first small interior group joins
    its smaller neighbour; then everything is looked at again from the start."""
    cells = [np.array([n, n * o, n * e]) for n, o, e in zip(n_k, o_k, e_k) if n > 0]

    def small(g):
        return g[2] < min_expected or g[0] - g[2] < min_expected

    while len(cells) > 1:
        if small(cells[0]) or small(cells[-1]):
            if small(cells[0]):
                cells[:2] = [cells[0] + cells[1]]
            if len(cells) > 1 and small(cells[-1]):
                cells[-2:] = [cells[-2] + cells[-1]]
            continue
        first = next((i for i in range(1, len(cells) - 1) if small(cells[i])), None)
        if first is None:
            break
        lo = first if cells[first + 1][0] < cells[first - 1][0] else first - 1
        cells[lo:lo + 2] = [cells[lo] + cells[lo + 1]]
    return np.array(cells, dtype=float).reshape(-1, 3)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.floats(0.01, 0.99), st.floats(0.01, 0.99)), min_size=1,
                max_size=60), st.sampled_from([0.5, 1.0, 5.0]))
def test_s_x2_pooling_resumes_its_scan_and_merges_the_same_groups(cells, min_expected):
    n_k, o_k, e_k = (np.array(v, dtype=float) for v in zip(*cells))
    np.testing.assert_allclose(fit._pool(n_k, o_k, e_k, min_expected),
                               _pool_by_rescanning(n_k, o_k, e_k, min_expected), rtol=0, atol=1e-9)
