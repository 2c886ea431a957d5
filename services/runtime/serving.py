"""How every process of the stack serves its app: one place for uvicorn's options."""


def serve(factory: str, host: str, port: int) -> None:
    """Runs ``factory`` ("module:function" building the app) with uvicorn: our JSON logs
    (``log_config=None``), and 10 s for requests in flight when asked to stop."""
    import uvicorn  # here: the command line starts without loading the server

    uvicorn.run(factory, factory=True, host=host, port=port, log_config=None, timeout_graceful_shutdown=10)
