"""Implementation of funcgrad.numpy, one module per family of functions."""
