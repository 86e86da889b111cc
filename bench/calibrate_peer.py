"""The yardstick of ``bench/calibrate.py`` and ``bench/scale.py --wide``: read a 0/1 response CSV and calibrate a 2PL with PyPI ``mirt``
(SQUAREM), then write the parameters. Standard errors are off by default (the faster, harder yardstick:
``certbank calibrate`` computes them); ``--se`` turns them on.

    python bench/calibrate_peer.py responses.csv params.csv [--se]
"""
import sys
import warnings

import numpy as np
import pandas as pd


def main(src, out, se=False):
    import mirt
    frame = pd.read_csv(src)
    x = frame.drop(columns=["candidate_id"]).to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mirt.fit_mirt(np.where(np.isnan(x), -1, x).astype(int), "2PL", n_quadpts=61, accelerate="squarem",
                           compute_standard_errors=se)
    pars = res.model.parameters
    pd.DataFrame({"item_id": frame.columns[1:], "a": np.asarray(pars["discrimination"], float).ravel(),
                  "b": np.asarray(pars["difficulty"], float).ravel()}).to_csv(out, index=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--se" in sys.argv[3:])
