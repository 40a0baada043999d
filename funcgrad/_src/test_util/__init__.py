"""Private machinery of :mod:`funcgrad.test_util` (gradient checks, strategies)."""
