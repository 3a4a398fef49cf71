"""The domain: plain values and rules, with no I/O of any kind."""
