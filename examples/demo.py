"""orchestore's round trip, runnable anywhere: `make demo`.

Writes a CSV and a parquet file to file:// and memory://, lists them, reads them back as bytes
and as DataFrames, reads the same file over http:// from a local server, and logs versions of
a dataset as store:// artifacts in a local catalog, and copies a file with the `orchestore`
command. Each step prints what it did.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd

import orchestore


def round_trip(folder_url: str) -> None:
    """Write, list, read back and convert data under one folder URL."""
    print(f"\n== {folder_url}")
    frame = pd.DataFrame({"city": ["Zürich", "Lyon", "Oslo"], "rain_mm": [1.5, 0.0, 12.25]})

    csv = orchestore.get_dataitem(folder_url + "weather.csv")
    csv.write_df(frame)
    print(f"wrote {csv.url} ({csv.stat().size} bytes, {csv.stat().content_type})")

    parquet = orchestore.get_dataitem(folder_url + "weather.parquet")
    parquet.write_df(frame)
    print(f"wrote {parquet.url} ({parquet.stat().size} bytes)")

    log = orchestore.get_dataitem(folder_url + "runs.log")
    log.put("run 1 ok\n")
    log.put("run 2 ok\n", append=True)
    print(f"appended to {log.url}: {log.get()!r}")

    print(f"listed {folder_url}: {orchestore.get_dataitem(folder_url).listdir()}")
    header = csv.get(size=len("city,rain_mm")).decode()
    print(f"first bytes of weather.csv: {header!r}")
    back = parquet.as_df()
    print(f"read weather.parquet back: {len(back)} rows, columns {list(back.columns)}")
    assert back.equals(frame), "the round trip changed the data"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the demo's output to what orchestore did."""


def read_over_http(folder: Path) -> None:
    """Serve ``folder`` on 127.0.0.1 and read from it: http(s) stores are read-only."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/weather.csv"
        # 127.0.0.1 is an internal address: the http store refuses it unless allowlisted.
        local = orchestore.HttpCredentials(allowed_hosts=["127.0.0.1"])
        item = orchestore.get_dataitem(url, local)
        print(f"\n== {url}")
        print(f"stat over HTTP: {item.stat().size} bytes; bytes 0-3: {item.get(size=4)!r}")
        print(f"as a DataFrame over HTTP: {len(item.as_df())} rows")
        try:
            item.put(b"nope")
        except orchestore.ReadOnlyStoreError as error:
            print(f"writing is refused: {error}")
        server.shutdown()


def versioned_artifacts(folder: Path) -> None:
    """Log two versions of a dataset into a store:// catalog (a SQLite file) and resolve tags."""
    catalog = f"sqlite:///{folder / 'catalog.db'}"
    root = f"file://{folder}/artifacts"
    print(f"\n== store:// artifacts (catalog {catalog})")
    frame = pd.DataFrame({"city": ["Zürich", "Lyon"], "rain_mm": [1.5, 0.0]})
    first = orchestore.log_artifact(
        "demo", "weather", df=frame, tag="v1", artifact_root=root, catalog=catalog
    )
    second = orchestore.log_artifact(
        "demo", "weather", df=frame.head(1), tag="v2", artifact_root=root, catalog=catalog
    )
    print(f"logged {first}\nlogged {second}")
    for url in ("store://demo/weather:v1", "store://demo/weather"):
        item = orchestore.get_dataitem(url, catalog=catalog)
        print(f"{url} -> {len(item.as_df())} rows, stored at {item.meta.target_path}")
    again = orchestore.log_artifact(
        "demo", "weather", df=frame, tag="again", artifact_root=root, catalog=catalog
    )
    stored = orchestore.get_dataitem(f"{root}/demo/weather/").listdir()
    print(f"logged the v1 content again as {again}: still {len(stored)} stored objects")


def command_line(folder: Path) -> None:
    """The same stores from a shell: `orchestore cp` and `orchestore ls`."""
    command = Path(sys.executable).parent / "orchestore"
    source, target = folder / "weather.csv", f"file://{folder}/copies/"
    print(f"\n== orchestore cp {source.name} {target}")
    for args in (["cp", str(source), target], ["ls", "-l", target]):
        done = subprocess.run([str(command), *args], capture_output=True, text=True, check=True)
        print(f"$ orchestore {' '.join(args)}\n{done.stdout.rstrip()}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="orchestore-demo-") as folder:
        round_trip(f"file://{folder}/")
        round_trip("memory://demo/")
        read_over_http(Path(folder))
        versioned_artifacts(Path(folder))
        command_line(Path(folder))
    print("\ndemo finished: every round trip matched")


if __name__ == "__main__":
    main()
