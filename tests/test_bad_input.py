"""Every command that reads a file, over a corpus of broken files: one clear line naming the file, a
non-zero exit where nothing (or not everything) could be read, and never a traceback.

Commands run in-process (``CliRunner``), a few as real subprocesses. The unreadable-file case uses
``chmod 000``, which does not stop root: it is skipped when the tests run as root (euid 0). The
read-error case stands in for it under root: a link to ``/proc/self/mem``, which opens but whose first
read fails (EIO) for any user.
"""

from __future__ import annotations

import gzip
import io
import random
import re
import struct
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custodiet.cli import app
from tests.conftest import run_cli

runner = CliRunner()

GOOD_TEXT = {
    "portal.csv": "ts,actor,subject,subject_kind,data_kind\n"
                  + "".join(f"2026-03-01T08:{i:02d}:00Z,off{i % 3},+88017123456{i:02d},msisdn,cdr\n"
                            for i in range(40)),
    "cases.csv": "case_id,org,opened,closed\n"
                 + "".join(f"C{i},U1,2026-01-01T00:00:00Z,2026-02-01T00:00:00Z\n" for i in range(40)),
    "actors.csv": "actor,org,role,region\n" + "".join(f"off{i},U1,analyst,north\n" for i in range(40)),
    "case_subjects.csv": "case_id,subject,subject_kind\n"
                         + "".join(f"C{i},+88017123456{i:02d},msisdn\n" for i in range(40)),
    "protected.csv": "subject,subject_kind,category\n"
                     + "".join(f"+88017123456{i:02d},msisdn,judge\n" for i in range(40)),
    "sample.csv": "subject,subject_kind\n" + "".join(f"+88017123456{i:02d},msisdn\n" for i in range(40)),
    "portal.jsonl": "".join('{"ts": "2026-03-01T08:00:00Z", "actor": "off1", "subject": "+8801712345600", '
                            f'"subject_kind": "msisdn", "data_kind": "cdr", "event_id": "j{i}"}}\n'
                            for i in range(40)),
    "network.toml": '[home]\nname = "Example Mobile"\ncountry = "US"\nmcc_mnc = ["310-260"]\n'
                    'gt_prefixes = ["1206555"]\n' + "".join(
                        f'[[partner]]\nname = "P{i}"\ncountry = "BS"\ngt_prefixes = ["12423{i:02d}"]\n'
                        for i in range(20)),
    "truth.json": '{"world": "portal", "abusers": [], "leaks": []}\n',
    "heads.jsonl": "".join(f'{{"tree_size": {i}, "root": "00"}}\n' for i in range(40)),
}


def _pcap(frames: int = 20) -> bytes:
    """A pcap (Ethernet) with ``frames`` small frames."""
    out = io.BytesIO()
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i in range(frames):
        data = bytes(range(60))
        out.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(data), len(data)) + data)
    return out.getvalue()


def _parquet() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"ts": ["2026-03-01T08:00:00Z"] * 40, "actor": ["off1"] * 40,
                             "subject": ["+8801712345600"] * 40, "subject_kind": ["msisdn"] * 40,
                             "data_kind": ["cdr"] * 40}), sink)
    return sink.getvalue()


def _good_bytes(name: str) -> bytes:
    if name.endswith(".pcap"):
        return _pcap()
    if name.endswith(".parquet"):
        return _parquet()
    return GOOD_TEXT[name].encode()


def _huge_field(name: str) -> bytes:
    """The good file with a 200 KiB value in one record (or key)."""
    big = "x" * (200 << 10)
    text = GOOD_TEXT.get(name)
    if text is None:  # binary formats: a huge garbage tail
        return _good_bytes(name) + big.encode()
    lines = text.splitlines(keepends=True)
    if name.endswith(".json"):
        return ('{"world": "portal", "abusers": [], "leaks": [], "note": "' + big + '"}\n').encode()
    if name.endswith(".toml"):
        return (text + f'# {big}\n').encode()
    if name.endswith(".jsonl"):
        return (lines[0][:-2] + f', "note": "{big}"}}\n' + "".join(lines[1:])).encode()
    first = lines[1].split(",")
    first[0] = big
    return (lines[0] + ",".join(first) + "".join(lines[2:])).encode()


def _cut(data: bytes) -> bytes:
    """The first two thirds of ``data``, ending one byte into a line (text) or anywhere (one line, binary)."""
    end = data.find(b"\n", len(data) * 2 // 3)
    return data[: end + 2] if 0 <= end < len(data) - 2 else data[: len(data) * 2 // 3]


# name -> how to make it in a folder; each returns the path given to the command
Maker = Callable[[Path, str], Path]


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


CORPUS: dict[str, Maker] = {
    "truncated-gzip": lambda d, n: _write(d, n + ".gz", gzip.compress(_good_bytes(n) * 50, mtime=0)[
        : len(gzip.compress(_good_bytes(n) * 50, mtime=0)) // 2]),
    "truncated": lambda d, n: _write(d, n, _cut(_good_bytes(n))),
    "empty": lambda d, n: _write(d, n, b""),
    "binary-garbage": lambda d, n: _write(d, n, random.Random(7).randbytes(4096)),
    "200-KiB-field": lambda d, n: _write(d, n, _huge_field(n)),
    "latin-1": lambda d, n: _write(d, n, _good_bytes(n).replace(b"off1", b"caf\xe9", 1).replace(
        b"Example", b"Ex\xe9mple", 1).replace(b"C1,", b"C\xe91,", 1).replace(b'"world"', b'"w\xe9rld"', 1)
        .replace(b"+8801712345601", b"+880171234560\xe9", 1).replace(b'"root"', b'"r\xe9ot"', 1)),
    "directory": lambda d, n: (d / n).mkdir() or d / n,
    "missing": lambda d, n: d / n,
    # A file that cannot be read: permissions do not stop root (the tests' user in CI), a read error does.
    "read-error": lambda d, n: (d / n).symlink_to("/proc/self/mem") or d / n,
}

# The binary formats have no text to make Latin-1; a truncated text file is the cut-record case.
NOT_APPLICABLE = {("latin-1", "c.pcap"), ("latin-1", "portal.parquet")}
# Cases where a whole file is read and only records are rejected (exit 0 is right): a huge field is one
# bad record, a comment or extra key is harmless, a capture's trailing bytes are a cut last frame.
MAY_SUCCEED = {"200-KiB-field"}

COMMANDS: dict[str, tuple[str, Callable[[Path], list[str]]]] = {
    "ingest-portal-csv": ("portal.csv", lambda p: ["ingest", "portal", str(p)]),
    "ingest-portal-jsonl": ("portal.jsonl", lambda p: ["ingest", "portal", str(p)]),
    "ingest-portal-parquet": ("portal.parquet", lambda p: ["ingest", "portal", str(p)]),
    "ingest-signalling": ("c.pcap", lambda p: ["ingest", "signalling", str(p)]),
    "context-actors": ("actors.csv", lambda p: ["context", "load", "actors", str(p)]),
    "context-cases": ("cases.csv", lambda p: ["context", "load", "cases", str(p)]),
    "context-case-subjects": ("case_subjects.csv", lambda p: ["context", "load", "case-subjects", str(p)]),
    "context-protected": ("protected.csv", lambda p: ["context", "load", "protected", str(p)]),
    "context-network": ("network.toml", lambda p: ["context", "load", "network", str(p)]),
    "trace-leak": ("sample.csv", lambda p: ["trace-leak", str(p), "--listed-at", "2026-06-01"]),
    "evaluate": ("truth.json", lambda p: ["evaluate", "--truth", str(p)]),
    "verify-witness": ("heads.jsonl", lambda p: ["verify", "--witness", str(p)]),
}


def _squashed(text: str) -> str:
    """Output without whitespace and table borders (the console wraps long lines)."""
    return re.sub(r"[\s│┃]+", "", text)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad-input") / "home"


APPLICABLE = [(command, case) for command, (name, _) in COMMANDS.items() for case in CORPUS
              if (case, name) not in NOT_APPLICABLE]


@pytest.mark.parametrize(("command", "case"), APPLICABLE)
def test_bad_input_gets_one_clear_line(command: str, case: str, home: Path, tmp_path: Path) -> None:
    name, argv = COMMANDS[command]
    path = CORPUS[case](tmp_path, name)
    result = runner.invoke(app, ["--home", str(home), *argv(path)], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{result.output}")
    assert "Traceback" not in result.output
    if case not in MAY_SUCCEED:
        assert result.exit_code != 0, result.output
    if result.exit_code != 0:
        assert _squashed(path.name) in _squashed(result.output), result.output


@pytest.mark.parametrize(("argv", "name", "message"), [
    (lambda p: ["trace-leak", str(p), "--listed-at", "2026-06-01"], "sample.csv", "truncated gzip"),
    (lambda p: ["ingest", "portal", str(p)], "portal.csv", "truncated gzip"),
    (lambda p: ["context", "load", "cases", str(p)], "cases.csv", "nothing loaded"),
])
def test_truncated_gzip_in_a_real_process(argv: Callable[[Path], list[str]], name: str, message: str,
                                          home: Path, tmp_path: Path) -> None:
    path = CORPUS["truncated-gzip"](tmp_path, name)
    proc = run_cli(*argv(path), home=home, check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert path.name in errors[0]
    assert message in errors[0]
    assert re.search(r"byte \d+", errors[0])


def test_a_folder_as_network_profile_in_a_real_process(home: Path, tmp_path: Path) -> None:
    proc = run_cli("context", "load", "network", str(tmp_path), home=home, check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip() == f"error: {tmp_path}: is a folder, not a file"


def test_a_200_kib_field_in_a_leak_sample_in_a_real_process(home: Path, tmp_path: Path) -> None:
    path = _write(tmp_path, "sample.csv", b"subject,subject_kind\n" + b"9" * (200 << 10) + b",msisdn\n")
    proc = run_cli("trace-leak", str(path), "--listed-at", "2026-06-01", home=home, check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "sample.csv:2: a field is over the limit" in proc.stderr
    assert "sample.csv: no usable record (1 rejected" in proc.stderr


def test_a_truncated_capture_stores_the_frames_before_the_cut_and_exits_1(home: Path, tmp_path: Path) -> None:
    from tests.signalling_decode.helpers import MAP_CAPTURE, need_captures

    need_captures()
    data = MAP_CAPTURE.read_bytes()
    cut = _write(tmp_path, "cut.pcap", data[: len(data) * 3 // 5])
    store_home = tmp_path / "home"
    result = runner.invoke(app, ["--home", str(store_home), "ingest", "signalling", str(cut)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert re.search(r"error: incomplete capture: cut\.pcap: .* truncated at byte \d+", result.output)
    from custodiet.store import Store

    stored = Store(store_home).connect().execute("SELECT count(*) FROM events").fetchall()[0][0]
    assert stored > 0


@pytest.mark.parametrize("argv", [
    lambda f: ["simulate", "portal", "--out", str(f), "--seed", "1"],
    lambda f: ["simulate", "signalling", "--out", str(f)],
])
def test_an_output_folder_that_is_a_file(argv: Callable[[Path], list[str]], home: Path, tmp_path: Path) -> None:
    taken = _write(tmp_path, "taken", b"")
    result = runner.invoke(app, ["--home", str(home), *argv(taken)], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"error: {taken}: cannot write the world there" in result.output
