"""funcgrad.nn's implementation: activations, the softmax family, preprocessing, attention.

The functions compose ``funcgrad.numpy`` operations (no primitives of their own); custom
JVP rules make derivatives exact and finite where the plain composition would not be.
The public module ``funcgrad.nn`` re-exports them.
"""
