"""stax: neural-network layers as (init, apply) pairs, built on funcgrad's public API.

Populated by the neural-network issues; it holds only this docstring until then.
"""
