"""Keras Tuner bridge: search spaces from a recipe's ``tune:`` section, tuners, distributed roles."""
