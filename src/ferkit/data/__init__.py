"""Data sets: ingest FER2013 / FER+ into one compact store, and load it back."""

from ferkit.data.store import FerStore, load_store

__all__ = ["FerStore", "load_store", "prepare"]


def prepare(*args, **kwargs):
    from ferkit.data.ingest import prepare as _prepare

    return _prepare(*args, **kwargs)
