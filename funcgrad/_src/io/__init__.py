"""Private machinery behind `funcgrad.io`: checkpoint files and the checkpoint manager."""
