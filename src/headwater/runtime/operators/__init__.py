"""The operators: steps, running aggregates, windows, timers, repartitions."""
