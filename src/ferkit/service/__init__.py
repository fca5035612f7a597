"""The ferkit service: REST API, results in a database, and a web page (needs the `serve` extra)."""
