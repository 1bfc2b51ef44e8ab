"""The API server's transport sends the writes of one turn of the event loop as one."""

from __future__ import annotations

import asyncio

from care_api.serve import _OneWritePerTurn

HEAD = b"HTTP/1.1 201 Created\r\n\r\n"


class _Recording(asyncio.Transport):
    """The socket's side: what reached it, write by write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 8000) if name == "sockname" else default


async def _turns() -> tuple[_Recording, list[list[bytes]]]:
    sent = _Recording()
    transport = _OneWritePerTurn(sent, asyncio.get_running_loop())
    seen = []
    transport.write(HEAD)
    transport.write(memoryview(b"{}"))
    assert transport.get_write_buffer_size() == len(HEAD) + 2  # held, not yet sent
    seen.append(list(sent.writes))
    await asyncio.sleep(0)
    seen.append(list(sent.writes))
    transport.write(b"next")
    transport.close()  # what is held goes first
    seen.append(list(sent.writes))
    transport.write(b"after close")
    await asyncio.sleep(0)
    seen.append(list(sent.writes))
    assert transport.get_extra_info("sockname") == ("127.0.0.1", 8000)  # the rest is its own
    return sent, seen


def test_writes_of_one_turn_go_out_as_one_and_closing_sends_what_is_held() -> None:
    sent, seen = asyncio.run(_turns())
    head_and_body = HEAD + b"{}"
    assert seen == [
        [],
        [head_and_body],
        [head_and_body, b"next"],
        [head_and_body, b"next"],  # nothing is written to a closed transport
    ]
    assert sent.closed
