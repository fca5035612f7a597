"""Evaluation: metrics, confusion matrices, reports and plots."""
