"""Internals of funcgrad.scipy."""
