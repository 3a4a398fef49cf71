"""Application services: use cases that compose the domain with the ports."""
