"""Run a module under cProfile and dump the profile when it exits (uvicorn exits cleanly on SIGTERM):

    python -m bench.profiled OUT.prof services.cli serve debt

The benches use it when ``BENCH_PROFILE=1``: the service they start is profiled, the profile lands in
``bench/results/`` and its top entries are printed. cProfile slows Python code down (calls into Rust,
C and the database are not slowed), so read its shares, not its absolute times.
"""

import cProfile
import pstats
import runpy
import signal
import sys
from pathlib import Path


def main() -> None:
    out, module, *args = sys.argv[1:]
    sys.argv = [module, *args]
    # uvicorn re-raises SIGTERM once shut down; exiting through SystemExit lets the profile be written.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    profile = cProfile.Profile()
    profile.enable()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        profile.disable()
        profile.dump_stats(out)


def summary(path: Path, limit: int = 40, sort: str = "cumulative") -> str:
    """The top of a dumped profile, as text."""
    import io

    buffer = io.StringIO()
    stats = pstats.Stats(str(path), stream=buffer)
    stats.strip_dirs().sort_stats(sort).print_stats(limit)
    return buffer.getvalue()


if __name__ == "__main__":
    main()
