"""The standalone host's frame codec (RFC 6455), sans I/O: close frames validated (1002 for
invalid codes and one-byte payloads, 1007 for a reason that is not UTF-8), UTF-8 checked
fragment by fragment, the fragment-count limit (1008), messages before an error kept."""

from __future__ import annotations

import os

import pytest

from socketwire.hosting import wsframes
from socketwire.hosting.wsframes import FrameParser, WebSocketError


def masked(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """One client frame."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes([(0x80 if fin else 0) | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([(0x80 if fin else 0) | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([(0x80 if fin else 0) | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def fails(parser: FrameParser, data: bytes) -> WebSocketError:
    with pytest.raises(WebSocketError) as info:
        parser.feed(data)
    return info.value


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012,
                                  1013, 1014, 3000, 3999, 4000, 4999])
def test_valid_close_codes_are_delivered(code: int) -> None:
    payload = code.to_bytes(2, "big") + "bye é".encode()
    assert FrameParser().feed(masked(wsframes.OP_CLOSE, payload)) == [(wsframes.OP_CLOSE,
                                                                        payload)]


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
                                  5000, 65535])
def test_invalid_close_codes_are_1002(code: int) -> None:
    assert fails(FrameParser(), masked(wsframes.OP_CLOSE, code.to_bytes(2, "big"))).code == 1002


def test_close_payload_shapes() -> None:
    assert FrameParser().feed(masked(wsframes.OP_CLOSE, b"")) == [(wsframes.OP_CLOSE, b"")]
    assert fails(FrameParser(), masked(wsframes.OP_CLOSE, b"\x03")).code == 1002
    bad_reason = b"\x03\xe8" + b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
    assert fails(FrameParser(), masked(wsframes.OP_CLOSE, bad_reason)).code == 1007
    too_long = b"\x03\xe8" + b"a" * 124  # 126 bytes: a control frame holds 125
    assert fails(FrameParser(), masked(wsframes.OP_CLOSE, too_long)).code == 1002


def test_utf8_is_checked_per_fragment() -> None:
    """The invalid fragment fails at once, before the message's last frame arrives; a code
    point split across fragments is fine."""
    parser = FrameParser()
    assert parser.feed(masked(wsframes.OP_TEXT, "a\u00e9".encode()[:2], fin=False)) == []
    assert parser.feed(masked(wsframes.OP_CONT, "a\u00e9".encode()[2:], fin=False)) == []
    assert parser.feed(masked(wsframes.OP_CONT, "€".encode(), fin=True)) == [
        (wsframes.OP_TEXT, "aé€")]
    parser.feed(masked(wsframes.OP_TEXT, b"ok", fin=False))
    assert fails(parser, masked(wsframes.OP_CONT, b"\xed\xa0\x80", fin=False)).code == 1007


def test_truncated_utf8_at_the_end_of_a_message_is_1007() -> None:
    parser = FrameParser()
    parser.feed(masked(wsframes.OP_TEXT, b"a", fin=False))
    assert fails(parser, masked(wsframes.OP_CONT, b"\xc3", fin=True)).code == 1007
    assert fails(FrameParser(), masked(wsframes.OP_TEXT, b"\xc3")).code == 1007


@pytest.mark.parametrize("payload", [b"", b"x"])
def test_fragment_count_limit_is_1008(payload: bytes) -> None:
    parser = FrameParser(max_size=10_000)
    assert parser.max_fragments == 10_000 // wsframes.FRAGMENT_COST
    frames = masked(wsframes.OP_BINARY, payload, fin=False)
    frames += masked(wsframes.OP_CONT, payload, fin=False) * parser.max_fragments
    error = fails(parser, frames)
    assert error.code == 1008


def test_fragment_limit_is_per_message() -> None:
    parser = FrameParser(max_size=10_000, max_fragments=4)
    message = (masked(wsframes.OP_TEXT, b"a", fin=False) + masked(wsframes.OP_CONT, b"b", False)
               + masked(wsframes.OP_CONT, b"c", fin=True))
    assert parser.feed(message * 10) == [(wsframes.OP_TEXT, "abc")] * 10


def test_messages_before_an_error_are_kept() -> None:
    data = (masked(wsframes.OP_TEXT, b"one") + masked(wsframes.OP_PING, b"p")
            + masked(wsframes.OP_TEXT, b"\xff"))
    error = fails(FrameParser(), data)
    assert error.code == 1007
    assert error.messages == [(wsframes.OP_TEXT, "one"), (wsframes.OP_PING, b"p")]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (masked(wsframes.OP_CONT, b"x"), 1002),  # continuation with nothing to continue
        (masked(wsframes.OP_TEXT, b"x", fin=False) + masked(wsframes.OP_TEXT, b"y"), 1002),
        (masked(0x3, b""), 1002),  # reserved data opcode
        (masked(0xB, b""), 1002),  # reserved control opcode
        (masked(wsframes.OP_PING, b"x", fin=False), 1002),  # fragmented control frame
        (bytes([0x81, 0x02]) + b"hi", 1002),  # unmasked
        (bytes([0xC1]) + masked(wsframes.OP_TEXT, b"x")[1:], 1002),  # RSV1 without deflate
        (masked(wsframes.OP_BINARY, b"x" * 2000), 1009),
    ],
)
def test_protocol_errors(data: bytes, code: int) -> None:
    assert fails(FrameParser(max_size=1000), data).code == code


def _stream_outcome(parser: FrameParser, chunks: list[bytes], hot_path: bool) -> list[object]:
    """What a connection receives from ``chunks``: with ``hot_path``, as WebSocketProtocol
    reads (single_text first, feed when it declines), else through feed alone."""
    seen: list[object] = []
    for chunk in chunks:
        if hot_path:
            text = parser.single_text(chunk)
            if text is not None:
                seen.append([(wsframes.OP_TEXT, text)])
                continue
        try:
            seen.append(parser.feed(chunk))
        except WebSocketError as exc:
            seen.append((exc.code, exc.messages))
            break
    return seen


@pytest.mark.parametrize("chunks", [
    [masked(1, b"42[\"a\"]")],
    [masked(1, b"x" * 125), masked(1, b"y" * 126)],
    [masked(1, "\u00e9t\u00e9".encode())],
    [masked(1, b"\xff\xfe")],  # not UTF-8: 1007, from feed
    [masked(1, b"ab", fin=False), masked(1, b"cd")],  # a text frame while one is fragmented
    [masked(1, b"ab", fin=False), masked(0, b"cd")],
    [masked(1, b"hello")[:4], masked(1, b"hello")[4:], masked(1, b"again")],  # split frame
    [masked(1, b"one") + masked(1, b"two")],  # two frames in one read
    [masked(2, b"bin"), masked(9, b"p"), masked(1, b"t")],
    [masked(1, b"z" * 20)],  # bigger than the size limit below: 1009
    [bytes([0x81, 0x05]) + b"hello"],  # unmasked: 1002
])
def test_single_text_then_feed_reads_as_feed_alone(chunks: list[bytes]) -> None:
    """The hot path (one small text frame, nothing pending) gives the same messages and the
    same errors as feed alone, and declines without consuming what it does not take."""
    assert (_stream_outcome(FrameParser(16), chunks, True)
            == _stream_outcome(FrameParser(16), chunks, False))


def test_single_text_takes_only_one_complete_small_text_frame() -> None:
    parser = FrameParser()
    assert parser.single_text(masked(1, b"42[\"a\"]")) == '42["a"]'
    assert parser.single_text(masked(1, b"x" * 126)) is None  # 16-bit length: feed's
    assert parser.single_text(masked(2, b"bin")) is None
    frame = masked(1, b"hello")
    assert parser.single_text(frame[:5]) is None
    assert parser.feed(frame[:5]) == []
    assert parser.single_text(frame[5:]) is None  # something is pending: feed's
    assert parser.feed(frame[5:]) == [(wsframes.OP_TEXT, "hello")]


def test_text_heads_are_frame_headers() -> None:
    for n in (0, 1, 125):
        payload = b"p" * n
        assert wsframes.TEXT_HEADS[n] + payload == wsframes.frame(wsframes.OP_TEXT, payload)
