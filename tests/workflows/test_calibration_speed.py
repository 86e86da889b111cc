"""The `calibrate` job's lazy imports: what it repeats from the bank-scale module agrees with it, and reading
a response file does not import the linking code."""
import subprocess
import sys

from psychometrics.irt import bank_scale
from workflows import calibration


def test_bank_scale_constants_repeated_in_the_job_agree():
    assert calibration.BANK_SCALE_METHODS == bank_scale.METHODS
    assert calibration.MIN_COMMON_ITEMS == bank_scale.MIN_COMMON_ITEMS


def test_importing_the_calibrate_job_leaves_scipy_optimize_and_stats_unloaded():
    code = ("import sys, workflows.calibration; "
            "print(sorted(m for m in ('scipy.optimize', 'scipy.stats') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
