"""Batch analysis of large collections: a process pool here, or Ray Data on a cluster."""
