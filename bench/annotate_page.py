"""Time from the answer to the next task shown on the annotate page (issue 14), in headless
Chromium, with prefetch on and off.

In a fresh ANNOTATOR_VAR_DIR with the embedded defaults (SQLite, like demo_chain.py): migrate,
make_demo --utterances U --render-now, then `manage.py runserver --noreload --insecure` on a
free port. One demo annotator per mode (annotator1 with prefetch, annotator2 with
`?prefetch=off`) answers N tasks of the demo campaign with the number keys, THINK seconds
after each task is shown (the time prefetch has to work in).

Measured in the page with performance.now(): from the keydown (a listener registered before
the page's own, in the capture phase) to the page marking the new task on the DOM (the
`data-lease` attribute of #annotate, seen by a MutationObserver) — "shown" — and to the next
animation frame after it — "painted". Prints p50/p95/max per mode and the machine load.

    .venv/bin/python bench/annotate_page.py [--tasks 30] [--think 1.0] [--utterances 40]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_chain import chain_environment  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PASSWORD = "cherma-demo"
# Registered before the page's scripts: the keydown's time, then the new task's.
PROBE = """
window.__bench = {pending: null, shown: [], painted: []};
document.addEventListener("keydown", () => { window.__bench.pending = performance.now(); }, true);
new MutationObserver(() => {
  const b = window.__bench, root = document.getElementById("annotate");
  if (b.pending === null || !root.dataset.lease) return;
  const began = b.pending;
  b.pending = null;
  b.shown.push(performance.now() - began);
  requestAnimationFrame(() => b.painted.push(performance.now() - began));
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-lease"]});
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def manage(arguments: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.exit(f"manage.py {' '.join(arguments)} failed:\n{done.stdout}\n{done.stderr}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    for _ in range(200):
        if server.poll() is not None:
            sys.exit(f"runserver exited: {server.stderr.read()}")
        try:
            urllib.request.urlopen(f"{url}/accounts/login/", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("runserver did not start")


def campaign_id(env: dict[str, str]) -> int:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "shell",
            "-c",
            "from labeling.models import Campaign; "
            "print(Campaign.objects.get(name__endswith='emotions per modality').pk)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def answer_tasks(browser, url: str, username: str, path: str, tasks: int, think: float):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    page.add_init_script(PROBE)
    page.goto(f"{url}{path}")
    page.wait_for_function("() => document.getElementById('annotate').dataset.lease")
    for i in range(tasks):
        page.wait_for_timeout(think * 1000)
        lease = page.get_attribute("#annotate", "data-lease")
        if not lease:
            break  # no task left
        page.keyboard.press(str(1 + i % 7))
        page.wait_for_function(
            "old => { const l = document.getElementById('annotate').dataset.lease;"
            " return l !== old; }",
            arg=lease,
        )
        page.wait_for_function(f"() => window.__bench.painted.length >= {i + 1}")
    figures = page.evaluate("() => window.__bench")
    page.goto("about:blank")
    context.close()
    return figures["shown"], figures["painted"]


def row(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:<22} no tasks measured"
    return (
        f"{name:<22} n={len(values):<3} p50 {statistics.median(values):7.1f} ms"
        f"   p95 {percentile(values, 95):7.1f} ms   max {max(values):7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--think", type=float, default=1.0, help="seconds per task")
    parser.add_argument("--utterances", type=int, default=40)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-annotate-") as tmp:
        env = chain_environment(Path(tmp))
        env["DEBUG"] = "1"
        began = time.perf_counter()
        manage(["migrate", "--noinput"], env)
        manage(
            ["make_demo", "--utterances", str(args.utterances), "--render-now", "--no-progress"],
            env,
        )
        print(f"demo data ({args.utterances} utterances) in {time.perf_counter() - began:.0f} s")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "runserver",
                "--noreload",
                "--insecure",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_until_up(url, server)
            path = f"/annotate/{campaign_id(env)}/"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    args=[
                        "--no-sandbox",
                        "--disable-gpu",
                        "--autoplay-policy=no-user-gesture-required",
                    ],
                )
                results = {
                    "prefetch on": answer_tasks(
                        browser, url, "annotator1", path, args.tasks, args.think
                    ),
                    "prefetch off": answer_tasks(
                        browser, url, "annotator2", f"{path}?prefetch=off", args.tasks, args.think
                    ),
                }
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)

    print(
        f"answer → next task on the annotate page, {args.tasks} tasks per mode, "
        f"{args.think:g} s per task, runserver + SQLite, headless Chromium"
    )
    for mode, (shown, painted) in results.items():
        print(row(f"{mode} · shown", shown))
        print(row(f"{mode} · painted", painted))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}")
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
