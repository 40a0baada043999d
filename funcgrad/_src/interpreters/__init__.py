"""The interpreters: one Trace/Tracer pair each (eval lives in core)."""
