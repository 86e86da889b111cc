"""The item response function against hand-worked values (Lord 1980, eq. 2-1 and 5-9)."""
import math

import numpy as np

from psychometrics.irt import models


def test_probability_at_difficulty_is_midpoint_between_c_and_one():
    p = models.probability([0.5], a=[1.3], b=[0.5], c=[0.2])
    assert p[0, 0] == 0.2 + 0.8 * 0.5


def test_probability_hand_worked_2pl_with_D():
    # a=1.2, b=-0.5, θ=1, D=1.702: z = 1.702*1.2*1.5 = 3.0636
    p = models.probability([1.0], a=[1.2], b=[-0.5], D=1.702)[0, 0]
    assert math.isclose(p, 1 / (1 + math.exp(-3.0636)), rel_tol=1e-12)


def test_information_2pl_is_a2pq_and_3pl_formula():
    theta = np.array([-1.0, 0.0, 2.0])
    p = models.probability(theta, a=[1.5], b=[0.3])[:, 0]
    info = models.item_information(theta, a=[1.5], b=[0.3])[:, 0]
    np.testing.assert_allclose(info, 1.5 ** 2 * p * (1 - p))
    # 3PL maximum sits at b + ln((1+sqrt(1+8c))/2)/(D a) (Lord 1980, eq. 5-10)
    a, b, c = 1.0, 0.0, 0.25
    grid = np.linspace(-1, 2, 30001)
    i3 = models.item_information(grid, a=[a], b=[b], c=[c])[:, 0]
    expected = b + math.log((1 + math.sqrt(1 + 8 * c)) / 2) / a
    assert abs(grid[np.argmax(i3)] - expected) < 1e-3


def test_tcc_and_csem_and_intercept_round_trip():
    a, b, c = np.array([1.0, 2.0]), np.array([0.0, 1.0]), np.array([0.0, 0.2])
    tcc = models.test_characteristic_curve([0.0], a, b, c)
    assert math.isclose(tcc[0], 0.5 + 0.2 + 0.8 / (1 + math.exp(2.0)))
    csem = models.conditional_sem([0.0], a, b, c)
    assert math.isclose(csem[0], 1 / math.sqrt(models.test_information([0.0], a, b, c)[0]))
    alpha, d = models.to_intercept(a, b, D=1.702)
    a2, b2 = models.from_intercept(alpha, d, D=1.702)
    np.testing.assert_allclose(a2, a)
    np.testing.assert_allclose(b2, b)
