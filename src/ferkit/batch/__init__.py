"""Batch analysis of large collections: a process pool here, or Ray actors on a cluster."""
