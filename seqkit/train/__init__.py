"""The runner: fit / evaluate / predict, callbacks, checkpoints, resume, run directories."""
