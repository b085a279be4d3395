"""One adapter per model framework; each imports its library, so only on demand."""
