"""Saving and loading models, plots and reports."""
