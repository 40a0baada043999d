"""transforms: optax-style gradient transformations (optimizers) on funcgrad's public API.

Populated by the optimizer issue; it holds only this docstring until then.
"""
