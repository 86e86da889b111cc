"""A simulated SAMHSA job-analysis survey with known truth, as the survey file layout (for the jta tests)."""
import numpy as np
import pandas as pd

from psychometrics.jta import area_weights
from psychometrics.jta.ratings import simulate_survey
from workflows.jta_survey import rating_column

# true centres of importance (0-4) and frequency (0-5) by SAMHSA category I..XII
AREA_IMPORTANCE = [3.4, 3.0, 2.6, 3.0, 3.0, 2.8, 3.4, 3.2, 3.0, 2.8, 2.4, 2.8]
AREA_FREQUENCY = [4.2, 3.8, 3.0, 3.5, 3.5, 3.2, 4.0, 2.5, 3.8, 3.4, 2.6, 3.0]
NOT_PERFORMED = "SAMHSA.XI.2"   # 80% of respondents never do it
SHIFTED = "SAMHSA.VI.1"         # Spanish-language respondents do it more often


def simulated_frame(framework, seed=2026, n=300):
    codes = [c.code for c in framework.competencies]
    areas = [c.area_code for c in framework.competencies]
    area_index = {a.code: i for i, a in enumerate(framework.areas)}
    imp = [AREA_IMPORTANCE[area_index[a]] for a in areas]
    freq = [AREA_FREQUENCY[area_index[a]] for a in areas]
    j_np, j_sh = codes.index(NOT_PERFORMED), codes.index(SHIFTED)
    imp[j_np] = 1.5
    sim = simulate_survey(imp, freq, np.random.default_rng(seed), n=n, not_performed={j_np: 0.8},
                          spanish_frequency_shift={j_sh: 1.8})
    frame = pd.DataFrame({"respondent_id": [f"R{i:04d}" for i in range(n)], "years": sim.years,
                          "setting": sim.setting, "region": sim.region, "language": sim.language})
    cols = {}
    for j, code in enumerate(codes):
        cols[rating_column("importance", code)] = sim.importance[:, j].astype(int)
        cols[rating_column("frequency", code)] = sim.frequency[:, j].astype(int)
    frame = pd.concat([frame, pd.DataFrame(cols)], axis=1)
    included = np.array([c != NOT_PERFORMED for c in codes])
    truth = area_weights(sim.true_criticality, areas, included, [a.code for a in framework.areas])
    return frame, truth
