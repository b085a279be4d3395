"""Everything that talks to the Kafka protocol: connection settings, admin, the local broker."""
