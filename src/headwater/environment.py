"""The environment variables a running app reads: the contract between the runner and whatever
starts it (the CLI, the platform's supervisor), in a module both can import."""

# Where the runner writes its status file (assigned partitions, metrics address, steps).
STATUS_FILE_ENV = "HEADWATER_STATUS_FILE"
# Where the runner serves its step counters for Prometheus (host:port; port 0 picks one).
METRICS_ADDRESS_ENV = "HEADWATER_METRICS_ADDRESS"
# A bounded run: "end" or an event time (epoch ms or ISO 8601); see `headwater run --until`.
UNTIL_ENV = "HEADWATER_UNTIL"
