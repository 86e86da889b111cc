"""Answer similarity: identical incorrect answers between every pair of candidates, with a known null.

For candidates u and v and item j, the chance that both choose the same wrong option when they work
independently, given their abilities, is

    π_uvj = Σ_k P_uk P_vk,   P_uk = (1 − P_j(θ̂_u)) · s_jk(g_u),

where P_j is the item's IRT response function on the bank scale and s_jk(g) is the share of option k among
the non-correct responses to item j of candidates in u's ability group g (quantile groups of θ̂; omits are a
category of their own and never match). The number of identical incorrect answers M_uv is then a sum of
independent Bernoulli(π_uvj): the generalized binomial test of van der Linden & Sotaridona (2006, eqs. 3–5),
here in its symmetric form (the probability uses both abilities, so no one has to be named the source),
with p = P(M ≥ m) computed exactly by the convolution recursion over items (ibid., eq. 6).

Every pair is tested (within each site when a site column is given). The counts are matrix products over
one-hot option matrices: M = O Oᵀ and E(M) = Π Πᵀ, with O (candidates × wrong options) the chosen wrong
options and Π their model probabilities, computed in row blocks of the upper triangle. The exact tail is
computed only for pairs whose count exceeds E(M) + ``SCREEN_Z`` √E(M): Var(M) ≤ E(M), and the tail of a
sum of Bernoullis is heavier than the normal one, so a pair below that line has p above Φ(−3) ≈ .0013 —
and can pass neither Bonferroni nor Benjamini–Hochberg at α ≤ .001 over more than one pair. Such pairs keep
p = 1 in the adjustment (they are counted in the number of tests).

Linked candidates (flagged pairs as edges) are grouped into clusters: the connected components of that graph.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

#: Pairs whose identical-incorrect count is at most E + SCREEN_Z·√E are not carried to the exact test.
SCREEN_Z = 3.0
#: Candidates per row block of the pair products (a block is BLOCK × n_candidates float32 per matrix).
BLOCK = 512
#: Ability groups for the distractor shares: up to this many, with at least MIN_GROUP candidates each.
MAX_GROUPS = 5
MIN_GROUP = 200
#: At most this many pairs are listed (the flagged ones always; then the smallest p below alpha).
MAX_LISTED = 2000


@dataclass(frozen=True)
class SimilarityResult:
    """``pairs``: the listed pairs (flagged ones first); ``n_pairs``: pairs tested; ``clusters``: one row per
    candidate in a cluster of linked candidates."""

    pairs: pd.DataFrame
    clusters: pd.DataFrame
    n_pairs: int
    n_screened: int
    alpha: float
    adjust: str
    by_site: bool = False
    settings: dict = field(default_factory=dict)

    @property
    def n_flagged(self) -> int:
        return int(self.pairs["flagged"].sum()) if len(self.pairs) else 0

    def to_frame(self) -> pd.DataFrame:
        return self.pairs


def wrong_option_features(codes, key_codes, n_options):
    """Column of each (item, wrong option) in the feature space, and each column's item.

    codes: (n, J) option codes (0–5 options, larger = omitted/not reached); key_codes, n_options: (J,).
    Returns (O (n, F) float32 one-hot of chosen wrong options, feature_item (F,), feature_option (F,))."""
    codes = np.asarray(codes)
    key_codes = np.asarray(key_codes, int)
    n_options = np.asarray(n_options, int)
    items, options = [], []
    for j in range(len(key_codes)):
        for k in range(int(n_options[j])):
            if k != key_codes[j]:
                items.append(j)
                options.append(k)
    feature_item, feature_option = np.array(items, int), np.array(options, int)
    onehot = (codes[:, feature_item] == feature_option[None, :]).astype(np.float32)
    return onehot, feature_item, feature_option


def distractor_shares(onehot, feature_item, codes, key_codes, theta, n_groups: int | None = None):
    """s_jk(g): share of each wrong option among the non-correct responses of each ability group, with half a
    response added to every option and to the omits (so no share is 0). Returns (n, F) float32: each person's
    group's shares, and the group of each person."""
    n = onehot.shape[0]
    if n_groups is None:
        n_groups = int(np.clip(n // MIN_GROUP, 1, MAX_GROUPS))
    ranks = np.argsort(np.argsort(theta, kind="stable"), kind="stable")
    group = (ranks * n_groups) // n
    not_correct = (np.asarray(codes) != np.asarray(key_codes)[None, :]).astype(np.float32)
    member = np.eye(n_groups, dtype=np.float32)[group]                          # (n, G)
    chosen = member.T @ onehot + 0.5                                             # (G, F)
    n_items = not_correct.shape[1]
    options_per_item = np.bincount(feature_item, minlength=n_items)
    wrong = member.T @ not_correct + 0.5 * (options_per_item + 1)[None, :]      # (G, J): + omit category
    shares = chosen / wrong[:, feature_item]
    return shares[group], group


def pair_probabilities(p_correct, shares, feature_item):
    """Π (n, F) float32: P_uk = (1 − P_j(θ̂_u)) s_jk(g_u)."""
    return ((1.0 - np.asarray(p_correct, np.float32))[:, feature_item] * shares).astype(np.float32)


def upper_tail(pi, m) -> np.ndarray:
    """P(M ≥ m) for M a sum of independent Bernoulli(π_j) (van der Linden & Sotaridona 2006, eq. 6).

    pi: (S, J) per pair and item; m: (S,) observed counts. The recursion keeps counts 0..L−1 and one state
    "≥ L−1 + …" absorbing at L = max m, so the tail is a sum of small numbers (no 1 − (1 − p) cancellation)."""
    pi = np.asarray(pi, float)
    m = np.asarray(m, int)
    S, J = pi.shape
    L = int(m.max()) + 1 if S else 1
    dist = np.zeros((S, L))
    dist[:, 0] = 1.0
    for j in range(J):
        moved = dist * pi[:, j:j + 1]
        dist *= 1.0 - pi[:, j:j + 1]
        dist[:, 1:] += moved[:, :-1]
        dist[:, -1] += moved[:, -1]          # the top state absorbs
    at_least = np.arange(L)[None, :] >= m[:, None]
    return np.minimum((dist * at_least).sum(axis=1), 1.0)


def _screen_block(O, P, rows, cols, same_block: bool, screen_z: float):
    """Counts and expectations for rows × cols; the pairs above the screen line as (i, j, m, e) arrays."""
    m = O[rows] @ O[cols].T
    e = P[rows] @ P[cols].T
    keep = (m - e > screen_z * np.sqrt(e)) & (m >= 2)
    if same_block:
        keep &= rows[:, None] < cols[None, :]
    i, j = np.nonzero(keep)
    return rows[i], cols[j], m[i, j], e[i, j]


def answer_similarity(codes, key_codes, n_options, p_correct, theta, *, person_ids=None, item_ids=None,
                      sites=None, alpha: float = 0.001, adjust: str = "bonferroni",
                      screen_z: float = SCREEN_Z, n_groups: int | None = None) -> SimilarityResult:
    """The identical-incorrect-answer test over every pair of candidates (module docstring).

    codes: (n, J) option codes (``ResponseMatrix.option_codes``); key_codes, n_options: (J,); p_correct:
    (n, J) P_j(θ̂) on the bank scale; theta: (n,); sites: (n,) labels, pairs only within a site, or None.
    ``adjust``: 'bonferroni' (family-wise) or 'bh' (false discovery rate), over all pairs tested."""
    codes = np.asarray(codes)
    n, J = codes.shape
    ids = np.arange(1, n + 1).astype(str) if person_ids is None else np.asarray(person_ids).astype(str)
    item_ids = tuple(f"item{j + 1}" for j in range(J)) if item_ids is None else tuple(item_ids)
    O, feature_item, feature_option = wrong_option_features(codes, key_codes, n_options)
    shares, _ = distractor_shares(O, feature_item, codes, key_codes, theta, n_groups)
    P = pair_probabilities(p_correct, shares, feature_item)
    site_labels = np.zeros(n, int) if sites is None else pd.factorize(np.asarray(sites))[0]
    found, n_pairs = [], 0
    for s in np.unique(site_labels):
        members = np.flatnonzero(site_labels == s)
        n_pairs += len(members) * (len(members) - 1) // 2
        for start in range(0, len(members), BLOCK):
            rows = members[start:start + BLOCK]
            found.append(_screen_block(O, P, rows, members[start:], True, screen_z))
    i, j, m, e = (np.concatenate(parts) for parts in zip(*found)) if found else [np.empty(0)] * 4
    i, j, m = i.astype(int), j.astype(int), np.rint(m).astype(int)
    p = np.ones(len(i))
    for start in range(0, len(i), 20000):
        sl = slice(start, start + 20000)
        pi = np.add.reduceat(P[i[sl]].astype(float) * P[j[sl]], _starts(feature_item), axis=1)
        p[sl] = upper_tail(pi, m[sl])
    p_adj = _adjusted(p, n_pairs, adjust)
    flagged = p_adj <= alpha
    order = np.lexsort((p, ~flagged))
    listed = order[(flagged | (p < alpha))[order]][:max(MAX_LISTED, int(flagged.sum()))]
    pairs = _pair_frame(ids, item_ids, O, feature_item, feature_option, i[listed], j[listed], m[listed],
                        e[listed], p[listed], p_adj[listed], flagged[listed], sites)
    return SimilarityResult(pairs, clusters_of(pairs.loc[pairs["flagged"], ["candidate_1", "candidate_2"]]),
                            n_pairs, len(i), alpha, adjust, sites is not None, {"screen_z": screen_z})


def _starts(feature_item):
    return np.flatnonzero(np.r_[True, feature_item[1:] != feature_item[:-1]])


def _adjusted(p, n_tests: int, adjust: str) -> np.ndarray:
    """Bonferroni (p·N) or Benjamini–Hochberg (1995) adjusted p over N tests of which only these were not
    screened out (the others have p = 1 and rank after them)."""
    if n_tests == 0 or len(p) == 0:
        return np.ones(len(p))
    if adjust == "bonferroni":
        return np.minimum(p * n_tests, 1.0)
    if adjust != "bh":
        raise ValueError(f"unknown adjustment {adjust!r}")
    order = np.argsort(p, kind="stable")
    scaled = p[order] * n_tests / np.arange(1, len(p) + 1)
    out = np.empty(len(p))
    out[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return out


def _pair_frame(ids, item_ids, O, feature_item, feature_option, i, j, m, e, p, p_adj, flagged, sites):
    letters = "ABCDEF"
    shared = []
    for a, b in zip(i, j):
        both = np.flatnonzero(O[a] * O[b])
        shared.append(" ".join(f"{item_ids[feature_item[f]]}:{letters[feature_option[f]]}" for f in both))
    frame = pd.DataFrame({"candidate_1": ids[i], "candidate_2": ids[j], "identical_incorrect": m,
                          "expected": np.round(e, 3), "p_value": p, "adjusted_p": p_adj, "flagged": flagged,
                          "shared_items": shared})
    if sites is not None:
        frame.insert(2, "site", np.asarray(sites)[i])
    return frame


def clusters_of(edges: pd.DataFrame) -> pd.DataFrame:
    """Connected components of the graph whose edges are the rows (candidate_1, candidate_2): one row per
    member with its cluster number (1 = largest), cluster size and how many flagged pairs it is in."""
    columns = ["cluster", "candidate_id", "cluster_size", "flagged_pairs"]
    if edges.empty:
        return pd.DataFrame(columns=columns)
    nodes, codes = np.unique(edges.to_numpy().astype(str).ravel(), return_inverse=True)
    codes = codes.reshape(-1, 2)
    graph = coo_matrix((np.ones(len(codes)), (codes[:, 0], codes[:, 1])), shape=(len(nodes), len(nodes)))
    _, label = connected_components(graph, directed=False)
    size = np.bincount(label)
    degree = np.bincount(codes.ravel(), minlength=len(nodes))
    # number clusters largest first, ties by their first member's id
    rank = {lab: r + 1 for r, lab in enumerate(sorted(set(label), key=lambda g: (-size[g], nodes[label == g][0])))}
    frame = pd.DataFrame({"cluster": [rank[g] for g in label], "candidate_id": nodes, "cluster_size": size[label],
                          "flagged_pairs": degree})
    return frame.sort_values(["cluster", "candidate_id"]).reset_index(drop=True)
