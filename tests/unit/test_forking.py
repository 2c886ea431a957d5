"""The launcher's forked children: started as ``python -m`` would start them, and nothing of the
launcher's leaks into them (environment, exit handlers, output not yet written, the command line)."""

import subprocess
import sys
import textwrap
from pathlib import Path

PROBE = """
import atexit, os, sys
print("argv", sys.argv[1:], "env", sorted(os.environ), "main", __name__)
print("title", open("/proc/self/cmdline").read().replace("\\0", " ").strip())
atexit.register(print, "the child's own exit handler")
raise SystemExit(7)
"""

LAUNCHER = """
import atexit, sys, threading, time
sys.path.insert(0, {folder!r})
from services.stack.forking import fork
atexit.register(print, "the launcher's exit handler")
print("written by the launcher before the fork", end="")  # still in its buffer at the fork
child = fork("probe", ["serve", "x"], {{"ONLY": "this"}}, {log!r}, lambda: print("setup ran"))
print()
print("code", child.wait(10), child.poll())
busy = threading.Thread(target=time.sleep, args=(1,))
busy.start()
print("while another thread runs", fork("probe", [], {{}}, {log!r}, lambda: None))
busy.join()
"""


def test_a_forked_child_runs_its_module_with_its_own_environment_and_exit_code(tmp_path: Path) -> None:
    (tmp_path / "probe.py").write_text(PROBE)
    log = tmp_path / "child.log"
    script = textwrap.dedent(LAUNCHER.format(folder=str(tmp_path), log=str(log)))
    launcher = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)

    said = launcher.stdout.splitlines()
    assert said == [
        "written by the launcher before the fork",
        "code 7 7",
        "while another thread runs None",  # a fork then would copy another thread's locks: not done
        "the launcher's exit handler",
    ]
    child = log.read_text().splitlines()
    assert child[0] == "setup ran"
    assert child[1] == "argv ['serve', 'x'] env ['ONLY'] main __main__"
    assert child[2] == f"title {sys.executable} -m probe serve x"  # what ps shows
    assert child[3:] == ["the child's own exit handler"]  # and never the launcher's, nor its output
