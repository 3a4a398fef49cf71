"""Entry points that drive ingest from message brokers, as api/ drives the services from HTTP."""
