"""Fleet simulation: synthetic inventories now, telemetry and faults later."""
