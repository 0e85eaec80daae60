"""fastpod's own log: JSON lines and text lines, secrets kept out, writes of whole lines."""

from __future__ import annotations

import asyncio
import datetime
import io
import json
import re
from collections.abc import Iterator

import pytest

from fastpod import logs

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
WHEN = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Every test leaves the process logging text as ``fastpod``, with nothing pending."""
    yield
    logs.configure("text", "fastpod")
    logs._settings.pending.clear()
    logs._settings.flush_scheduled = False


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure("json", "test", stream=stream)
    yield stream
    logs.configure("text", "fastpod")


@pytest.fixture
def text_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure("text", "worker-0", stream=stream)
    yield stream
    logs.configure("text", "fastpod")


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Each write the buffered writer makes (fastpod logging JSON as ``test``, unstreamed)."""
    recorded: list[bytes] = []
    monkeypatch.setattr(logs, "_write_out", lambda data: recorded.append(bytes(data)))
    logs.configure("json", "test")
    return recorded


def records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# JSON lines


def test_a_json_line_carries_time_level_process_event_and_fields(json_log: io.StringIO) -> None:
    logs.emit("pod added", pod="default/web-node1", containers=2, sources=["a", "b"])

    (record,) = records(json_log)
    assert list(record)[:4] == ["time", "level", "process", "event"]
    assert record["level"] == "info"
    assert record["process"] == "test"
    assert record["event"] == "pod added"
    assert record["pod"] == "default/web-node1"
    assert record["containers"] == 2
    assert record["sources"] == ["a", "b"]


def test_a_json_time_is_rfc3339_in_utc_with_a_z(json_log: io.StringIO) -> None:
    before = datetime.datetime.now(datetime.UTC)
    logs.emit("tick")
    after = datetime.datetime.now(datetime.UTC)

    (record,) = records(json_log)
    stamp = record["time"]
    assert isinstance(stamp, str)
    assert RFC3339_UTC.match(stamp)
    parsed = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert before - datetime.timedelta(seconds=1) <= parsed <= after


def test_none_fields_are_left_out(json_log: io.StringIO) -> None:
    logs.emit("pod stopped", level="warning", pod="default/web", uid=None, reason="")

    (record,) = records(json_log)
    assert "uid" not in record
    assert record["reason"] == ""
    assert record["level"] == "warning"


def test_every_json_event_is_one_line_whatever_its_values(json_log: io.StringIO) -> None:
    logs.emit("pod rejected", errors=["line 1: x\nline 2: y"], note='a "quoted"\tvalue')
    logs.emit("next")

    assert [record["event"] for record in records(json_log)] == ["pod rejected", "next"]
    assert records(json_log)[0]["errors"] == ["line 1: x\nline 2: y"]


# capture, for tests


def test_a_capture_collects_the_records_as_json_gives_them_and_writes_nothing(
    writes: list[bytes],
) -> None:
    with logs.capture() as captured:
        logs.emit("pod added", pod="default/web-node1", sources=("a", "b"), uid=None)
    logs.flush()

    (record,) = captured
    assert list(record) == ["time", "level", "process", "event", "pod", "sources"]
    assert (record["event"], record["pod"], record["sources"]) == (
        "pod added",
        "default/web-node1",
        ["a", "b"],
    )
    assert writes == []


def test_logging_is_written_again_after_a_capture(writes: list[bytes]) -> None:
    with logs.capture() as captured:
        logs.emit("inside")
    logs.emit("outside")
    logs.flush()

    assert [record["event"] for record in captured] == ["inside"]
    assert [json.loads(line)["event"] for line in b"".join(writes).splitlines()] == ["outside"]


# text lines


def test_a_text_line_is_time_level_process_event_then_key_values() -> None:
    line = logs.render_text(
        WHEN, "info", "worker-0", "pod added", {"pod": "default/web-node1", "count": 3}
    )

    assert line == (
        "2026-01-02T03:04:05.678901Z info  worker-0  pod added pod=default/web-node1 count=3\n"
    )


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("plain", "plain"),
        ("two words", '"two words"'),
        ("tab\there", '"tab\\there"'),
        ("line\nbreak", '"line\\nbreak"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("", '""'),
        (["a", "b"], '"a; b"'),
        (("only",), "only"),
        ([], '""'),
        (30.5, "30.5"),
        (7, "7"),
    ],
)
def test_text_values_with_spaces_or_quotes_are_quoted_and_lists_joined(
    value: object, rendered: str
) -> None:
    line = logs.render_text(WHEN, "info", "watcher", "e", {"key": value})

    assert line.endswith(f" e key={rendered}\n")
    assert line.count("\n") == 1


def test_long_levels_and_process_names_are_not_cut() -> None:
    line = logs.render_text(WHEN, "warning", "supervisor", "stopping", {})

    assert line == "2026-01-02T03:04:05.678901Z warning supervisor stopping\n"


def test_emit_in_text_format_writes_a_text_line(text_log: io.StringIO) -> None:
    logs.emit("pod rejected", level="error", source="/etc/k/web.yaml", errors=["a", "b"], x=None)

    line = text_log.getvalue()
    match = re.match(r"^(\S+) error worker-0  pod rejected (.*)\n$", line)
    assert match is not None
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", match[1])
    assert match[2] == 'source=/etc/k/web.yaml errors="a; b"'


# secrets


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("http://user:pass@host:8080/pods", "http://host:8080/pods"),
        ("https://token@example.com/x?y=1", "https://example.com/x?y=1"),
        ("http://host/pods", "http://host/pods"),
        ("http://user:p@ss@host/pods", "http://host/pods"),
        ("HTTPS://user:pass@host/pods", "HTTPS://host/pods"),
        ("http://host/path@not-userinfo", "http://host/path@not-userinfo"),
        ("http://host/?q=a@b", "http://host/?q=a@b"),
        (
            "fetch http://a:b@one/x failed, then http://c@two/y",
            "fetch http://one/x failed, then http://two/y",
        ),
        ("no url user:pass@host", "no url user:pass@host"),
        ("", ""),
    ],
)
def test_without_userinfo_strips_user_and_password_from_urls(text: str, cleaned: str) -> None:
    assert logs.without_userinfo(text) == cleaned


def test_no_field_of_any_line_carries_a_urls_password(json_log: io.StringIO) -> None:
    """Whatever a caller passes (a URL pod's source, an error quoting the URL, a list), the
    line written has no ``user:password@``; an address with an ``@`` elsewhere stays."""
    fields = {
        "source": "http://alice:s3cret@host:8080/pods",
        "errors": ["GET https://tok3n@host/x: 500"],
        "mail": "ops@example.com",
    }
    logs.emit("pod rejected", level="error", **fields)
    text_log = io.StringIO()
    logs.configure("text", "worker-0", stream=text_log)
    logs.emit("pod rejected", level="error", **fields)

    for written in (json_log.getvalue(), text_log.getvalue()):
        assert "s3cret" not in written
        assert "tok3n" not in written
        assert "http://host:8080/pods" in written
        assert "ops@example.com" in written
    record = json.loads(json_log.getvalue())
    assert record["errors"] == ["GET https://host/x: 500"]


# the buffered writer


def test_lines_emitted_in_one_loop_callback_are_written_together_after_it(
    writes: list[bytes],
) -> None:
    async def main() -> None:
        for index in range(5):
            logs.emit("pod added", index=index)
        assert writes == []  # nothing yet: the callback is still running
        await asyncio.sleep(0)

    asyncio.run(main())

    (chunk,) = writes
    lines = chunk.decode().splitlines()
    assert [json.loads(line)["index"] for line in lines] == list(range(5))


def test_a_burst_is_written_in_whole_lines_of_at_most_pipe_buf_bytes(
    writes: list[bytes],
) -> None:
    async def main() -> None:
        for index in range(500):
            logs.emit("pod added", pod=f"default/pod-{index}-node1", index=index)
        await asyncio.sleep(0)
        logs.emit("later", index=500)

    asyncio.run(main())

    assert 1 < len(writes) < 500
    for chunk in writes:
        assert len(chunk) <= logs.PIPE_BUF
        assert chunk.endswith(b"\n")
    lines = b"".join(writes).decode().splitlines()
    assert [json.loads(line)["index"] for line in lines] == list(range(501))


def test_a_line_longer_than_pipe_buf_is_written_whole_and_alone(writes: list[bytes]) -> None:
    async def main() -> None:
        logs.emit("small", index=0)
        logs.emit("huge", index=1, errors=["x" * 100] * 60)
        logs.emit("small", index=2)

    asyncio.run(main())

    assert b"".join(writes).count(b"\n") == 3
    huge = [chunk for chunk in writes if b'"huge"' in chunk]
    assert len(huge) == 1
    assert huge[0].count(b"\n") == 1
    assert len(huge[0]) > logs.PIPE_BUF
    assert all(len(chunk) <= logs.PIPE_BUF for chunk in writes if chunk is not huge[0])


def test_outside_a_loop_each_line_is_written_at_once(writes: list[bytes]) -> None:
    logs.emit("first")
    assert len(writes) == 1
    logs.emit("second")

    assert [json.loads(chunk)["event"] for chunk in writes] == ["first", "second"]


def test_flush_writes_what_is_pending_at_once(writes: list[bytes]) -> None:
    async def main() -> None:
        logs.emit("one")
        logs.emit("two")
        logs.flush()
        assert len(writes) == 1
        logs.emit("three")
        await asyncio.sleep(0)

    asyncio.run(main())

    assert [chunk.count(b"\n") for chunk in writes] == [2, 1]
    logs.flush()
    assert len(writes) == 2


def test_the_buffered_lines_reach_standard_error(capfd: pytest.CaptureFixture[str]) -> None:
    logs.configure("text", "test")

    async def main() -> None:
        for index in range(300):
            logs.emit("pod added", index=index)

    asyncio.run(main())
    logs.emit("outside a loop")

    err = capfd.readouterr().err.splitlines()
    assert [line.rsplit("index=", 1)[1] for line in err[:-1]] == [str(i) for i in range(300)]
    assert err[-1].endswith(" outside a loop")
