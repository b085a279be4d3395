"""The commit protocol: checkpoints, transactions, delivery reports, purges."""
