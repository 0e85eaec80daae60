"""How the supervisor matches its children's answers to its questions, Pods parts included."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable

import msgspec

from fastpod.ipc.channels import Outbox
from fastpod.ipc.messages import PodsPart, StatusAnswer
from fastpod.supervisor.queries import Queries

WORKERS = ["worker-0", "worker-1"]


def with_queries(scenario: Callable[[Queries], Awaitable[None]]) -> None:
    """Run ``scenario`` with :class:`Queries` whose outboxes lead nowhere (nothing listens:
    the questions wait in them, and the test answers in the children's place)."""

    async def main() -> None:
        directory = tempfile.mkdtemp(prefix="fastpod-test-")
        outboxes = {name: Outbox(f"{directory}/{name}.sock") for name in WORKERS}
        try:
            await scenario(Queries(outboxes))
        finally:
            for outbox in outboxes.values():
                await outbox.close()

    asyncio.run(main())


def answer(token: int, process: str) -> StatusAnswer:
    return StatusAnswer(token, process, (), True)


def part(token: int, process: str, *names: str) -> PodsPart:
    pods = b",".join(msgspec.json.encode({"metadata": {"name": name}}) for name in names)
    return PodsPart(token, process, pods)


async def the_token(queries: Queries) -> int:
    while not queries._waiting:
        await asyncio.sleep(0)
    (token,) = queries._waiting
    return token


def test_each_workers_pods_parts_become_one_array_in_its_answer_in_order() -> None:
    async def scenario(queries: Queries) -> None:
        asking = asyncio.ensure_future(queries.ask(WORKERS, pods=True, timeout=5))
        token = await the_token(queries)
        queries.receive([part(token, "worker-1", "c")])
        queries.receive([part(token, "worker-0", "a"), part(token, "worker-0", "b")])
        queries.receive([answer(token, "worker-0")])
        assert not asking.done(), "worker-1 has not answered yet"
        queries.receive([part(token, "worker-1", "d", "e"), answer(token, "worker-1")])
        answers = await asking
        names = {
            process: [item["metadata"]["name"] for item in msgspec.json.decode(each.pods)]
            for process, each in answers.items()
        }
        assert names == {"worker-0": ["a", "b"], "worker-1": ["c", "d", "e"]}

    with_queries(scenario)


def test_a_worker_with_no_pods_answers_with_no_array() -> None:
    async def scenario(queries: Queries) -> None:
        asking = asyncio.ensure_future(queries.ask(WORKERS[:1], pods=True, timeout=5))
        token = await the_token(queries)
        queries.receive([answer(token, "worker-0")])
        assert (await asking)["worker-0"].pods == b""

    with_queries(scenario)


def test_parts_of_a_question_that_timed_out_are_kept_by_no_one() -> None:
    async def scenario(queries: Queries) -> None:
        asking = asyncio.ensure_future(queries.ask(WORKERS[:1], pods=True, timeout=0.01))
        token = await the_token(queries)
        assert await asking == {}
        queries.receive([part(token, "worker-0", "late"), answer(token, "worker-0")])
        assert queries._waiting == {}

    with_queries(scenario)
