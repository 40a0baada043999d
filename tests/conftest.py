"""Test configuration: hypothesis profiles and import path for the shared oracle helpers."""

import os

from hypothesis import HealthCheck, settings

import funcgrad

# The suite runs jit's NumPy tier unless asked otherwise ($FUNCGRAD_CPU_FUSION): the fused
# tier has its own tests (test_fusion_cpu.py), and background compilations started by
# whichever test calls a function 100 times would make timings depend on test order. The
# variable also reaches the processes tests start (examples, MPI ranks).
if "FUNCGRAD_CPU_FUSION" not in os.environ:
    os.environ["FUNCGRAD_CPU_FUSION"] = "off"
    funcgrad.config.cpu_fusion = "off"

# CI: derandomized and bounded so the suite is reproducible and fits the CI budget.
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "deep", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)
