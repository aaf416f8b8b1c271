"""Where the functions' resident memory goes, against the two baselines of cold_start.py.

Default: for each release binary, its resident set read from /proc/PID/smaps at the end of init
and after two invocations (one Glue call each), by kind of mapping. The binary's own code
dominates: the kernel maps a file's pages in 64 KiB windows around each page fault
(fault-around), so code that runs anywhere in a window brings the whole window in.

--callgrind DIR: runs the two baselines and the poll function of DIR (a build with
symbols, see BENCHMARKS.md) once under valgrind's callgrind, and counts the bytes of the
functions that ran, the 4 KiB pages and the 64 KiB windows they lie in (by the file's addresses;
the load address can shift a window), against the whole text. The functions' bytes are the floor
a perfect code layout could bring the code's share down to.

    .venv/bin/python bench/rss_breakdown.py                 (after cargo build --release --bins)
    .venv/bin/python bench/rss_breakdown.py --callgrind target/unstripped/release
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from cold_start import BASELINE, BINARIES, RELEASE, SDK_BASELINE, fixture, invoke, started
from harness import LocalProduct

KINDS = ["code", "read-only", "writable", "heap/anon", "stack", "shared libs"]


def kind_of(mapping: str, permissions: str, binary: Path) -> str:
    if mapping == str(binary.resolve()):
        return {"r-xp": "code", "r--p": "read-only"}.get(permissions, "writable")
    if mapping in ("[heap]", "") or mapping.startswith("[anon"):
        return "heap/anon"
    if mapping == "[stack]":
        return "stack"
    return "shared libs"


def resident_by_kind(pid: int, binary: Path) -> collections.Counter:
    """Rss of each kind of mapping, in KiB."""
    resident: collections.Counter = collections.Counter()
    kind = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if re.fullmatch(r"[0-9a-f]+-[0-9a-f]+", fields[0]):
            kind = kind_of(fields[5] if len(fields) > 5 else "", fields[1], binary)
        elif fields[0] == "Rss:":
            resident[kind] += int(fields[1])
    return resident


def breakdown(product) -> None:
    env, events = fixture(product)
    print(f"resident KiB of {RELEASE}, at the end of init -> after two invocations")
    print(f"{'binary':<30} " + " ".join(f"{kind:>14}" for kind in [*KINDS, "total"]))
    for name in BINARIES:
        binary = RELEASE / name
        with started(binary, env) as (api, process, _):
            at_init = resident_by_kind(process.pid, binary)
            for call in ("first", "warm"):
                invoke(api, call, events[name], binary)
            after = resident_by_kind(process.pid, binary)
        cells = [f"{at_init[k]} -> {after[k]}" for k in KINDS]
        cells.append(f"{sum(at_init.values())} -> {sum(after.values())}")
        print(f"{name:<30} " + " ".join(f"{cell:>14}" for cell in cells))


def text_symbols(binary: Path) -> dict[str, list[tuple[int, int]]]:
    """Each code symbol's (address, size) pairs, by demangled name, as callgrind names them."""
    symbols: dict[str, list[tuple[int, int]]] = collections.defaultdict(list)
    listing = subprocess.run(["nm", "--size-sort", "-S", "-C", str(binary)], capture_output=True, text=True, check=True)
    for line in listing.stdout.splitlines():
        address, size, kind, name = line.split(None, 3)
        if kind in "tT":
            symbols[name].append((int(address, 16), int(size, 16)))
    if not symbols:
        raise SystemExit(f"{binary} has no symbols: build it with CARGO_PROFILE_RELEASE_STRIP=false")
    return symbols


def functions_run(profile: Path) -> set[str]:
    """Names of the functions callgrind saw run in the main binary (not in a shared library)."""
    names: dict[str, str] = {}
    objects: dict[str, str] = {}
    lines = profile.read_text().splitlines()
    for line in lines:
        if match := re.match(r"^c?(fn|ob)=\((\d+)\) (.*)$", line):
            (names if match[1] == "fn" else objects)[match[2]] = match[3]
    ran, in_binary = set(), False
    for line in lines:
        if match := re.match(r"^ob=\((\d+)\)", line):
            in_binary = ".so" not in objects.get(match[1], "")
        elif (match := re.match(r"^fn=\((\d+)\)", line)) and in_binary:
            ran.add(names[match[1]])
    return ran


def code_run(product, build: Path) -> None:
    env, events = fixture(product)
    print("code that ran during init and two invocations, against the binary's whole text (KiB)")
    print(f"{'binary':<30} {'functions':>10} {'their bytes':>12} {'4 KiB pages':>12} {'64 KiB windows':>15} {'text':>8}")
    for name in (BASELINE, SDK_BASELINE, "polysync-glue-poll"):
        binary = build / name
        symbols = text_symbols(binary)
        with tempfile.TemporaryDirectory() as scratch:
            profile = Path(scratch) / "callgrind.out"
            wrapper = ("valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}")
            with started(binary, env, wrapper) as (api, process, _):
                for call in ("first", "warm"):
                    invoke(api, call, events[name], binary, timeout=300)
                # callgrind writes its profile as the process ends; SIGKILL would lose it.
                process.terminate()
                process.wait()
            ran = [symbols[n] for n in functions_run(profile) if n in symbols]
        spans = [span for spans in ran for span in spans]
        pages = {page for address, size in spans for page in range(address // 4096, (address + max(size, 1) - 1) // 4096 + 1)}
        windows = {page // 16 for page in pages}
        text = sum(size for spans in symbols.values() for _, size in spans)
        print(
            f"{name:<30} {len(ran):>10} {sum(s for _, s in spans) // 1024:>12} {len(pages) * 4:>12} "
            f"{len(windows) * 64:>15} {text // 1024:>8}"
        )


def main() -> None:
    with LocalProduct() as product:
        if sys.argv[1:2] == ["--callgrind"]:
            code_run(product, Path(sys.argv[2]))
        else:
            breakdown(product)


if __name__ == "__main__":
    main()
