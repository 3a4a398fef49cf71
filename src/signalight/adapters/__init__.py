"""Adapters: one package or module per outside thing the services talk to."""
