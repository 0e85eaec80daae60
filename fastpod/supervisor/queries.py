"""The supervisor's questions to its children, and the answers it waits for.

The state the API serves lives in the workers (the pods they own) and the watcher; the
supervisor asks them over their sockets and gathers the answers, with a deadline: a
process that does not answer in time is reported as such, never waited on forever.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from fastpod.health import SYNC_LOOP, HealthProblem
from fastpod.ipc.channels import Outbox, handle_each
from fastpod.ipc.messages import Message, PodsPart, StatusAnswer, StatusQuery

ANSWER_TIMEOUT = 2.0
"""Seconds a child has to answer: a live event loop answers in milliseconds."""

PODS_TIMEOUT = 10.0
"""Seconds a worker has to answer with its pods: 5,000 statuses take it about 0.4 s, more
while it is busy syncing them."""


@dataclass(slots=True)
class _Question:
    """A question asked and not yet timed out: the answers so far, and the Pods parts of
    those that have not answered yet (a ``pods`` question)."""

    done: asyncio.Future[None]
    expected: int
    answers: dict[str, StatusAnswer] = field(default_factory=dict)
    parts: dict[str, list[bytes]] = field(default_factory=dict)


class Queries:
    """Asks processes (by name, through their outboxes) and matches answers to questions."""

    def __init__(self, outboxes: dict[str, Outbox]) -> None:
        self.outboxes = outboxes
        self._tokens = itertools.count(time.time_ns())
        self._waiting: dict[int, _Question] = {}

    def receive(self, messages: list[Message]) -> None:
        """The supervisor's inbox: answers from the children."""
        handle_each(messages, self._answered)

    def _answered(self, message: Message) -> None:
        if not isinstance(message, StatusAnswer | PodsPart):
            return
        question = self._waiting.get(message.token)
        if question is None:
            return  # timed out: its parts and answers are no one's
        if isinstance(message, PodsPart):
            question.parts.setdefault(message.process, []).append(message.pods)
            return
        parts = question.parts.pop(message.process, None)
        if parts is not None:
            pods = b"".join((b"[", b",".join(parts), b"]"))
            message = msgspec.structs.replace(message, pods=pods)
        question.answers[message.process] = message
        if len(question.answers) == question.expected and not question.done.done():
            question.done.set_result(None)

    async def ask(
        self,
        names: list[str],
        *,
        pods: bool = False,
        pod_key: str | None = None,
        metrics: bool = False,
        health: bool = False,
        timeout: float = ANSWER_TIMEOUT,
    ) -> dict[str, StatusAnswer]:
        """The answers of the processes ``names`` that came within ``timeout``; a worker's
        Pods (``pods``) as one JSON array, its parts joined."""
        token = next(self._tokens)
        question = _Question(asyncio.get_running_loop().create_future(), len(names))
        self._waiting[token] = question
        query = StatusQuery(token, pods, pod_key, metrics, health)
        for name in names:
            self.outboxes[name].send([query])
        try:
            await asyncio.wait_for(asyncio.shield(question.done), timeout)
        except TimeoutError:
            pass
        finally:
            del self._waiting[token]
        return question.answers


@dataclass(frozen=True, slots=True)
class Children:
    """The supervisor's children as the API sees them: by name, and how to ask them."""

    queries: Queries
    workers: list[str]
    pids: Callable[[], dict[str, int | None]]
    """Every child's pid, None while it is not running."""

    async def problems(self) -> list[HealthProblem]:
        """Why fastpod is not healthy now, check by check; empty when it is. A process not
        running or not answering is the ``syncloop`` check's: its loop is stuck."""
        pids = self.pids()
        names = [name for name, pid in pids.items() if pid is not None]
        answers = await self.queries.ask(names, health=True)
        problems = [
            HealthProblem(SYNC_LOOP, f"{name}: not running")
            for name, pid in pids.items()
            if pid is None
        ]
        for name in names:
            answer = answers.get(name)
            if answer is None:
                problems.append(
                    HealthProblem(SYNC_LOOP, f"{name}: no answer within {ANSWER_TIMEOUT:g}s")
                )
            else:
                problems.extend(
                    HealthProblem(problem.check, f"{name}: {problem.reason}")
                    for problem in answer.problems
                )
        return problems

    async def ready(self) -> bool:
        """Every process answers, every source has been seen and every pod synced once."""
        pids = self.pids()
        if any(pid is None for pid in pids.values()):
            return False
        answers = await self.queries.ask(list(pids))
        return len(answers) == len(pids) and all(a.synced for a in answers.values())
