"""The chaos soak: many processes, a faulty provider server, shared Redis and PostgreSQL."""
