from workertools import pg_workers, workers

__all__ = ["pg_workers", "workers"]
