"""Parts of scripts/soak: the gateways and clients, the verified load, the faults."""
