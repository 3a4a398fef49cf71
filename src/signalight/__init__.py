"""Signalight: watch and run a city's streetlights and traffic signals."""

__version__ = "0.1.0"
