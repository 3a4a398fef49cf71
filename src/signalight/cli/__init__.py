"""The command line, `signalight`: one sub-command per job."""
