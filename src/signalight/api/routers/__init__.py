"""Routers of the REST API, one per resource."""
