#!/usr/bin/env python3
"""Writes the seed corpus of the pdu_decoder fuzzer: a few real-looking PDUs (BHS + data
segment) laid out by hand from RFC 7143 §11, independent of the C++ encoders.
Run from anywhere: python3 tests/fuzz/pdu_decoder_seeds.py"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "pdu_decoder")


def bhs(op, flags, b2=0, b3=0, dsl=0, lun=b"\0" * 8, itt=0xFFFFFFFF, rest=b""):
    """Bytes 0..19 in the common layout, then 28 opcode-specific bytes (zero padded)."""
    head = bytes([op, flags, b2, b3, 0]) + dsl.to_bytes(3, "big") + lun + struct.pack(">I", itt)
    assert len(rest) <= 28
    return head + rest + b"\0" * (28 - len(rest))


def pad(data):
    return data + b"\0" * (-len(data) % 4)


def seeds():
    # Login Response, operational -> full feature, with negotiated keys.
    keys = b"HeaderDigest=None\0DataDigest=None\0MaxRecvDataSegmentLength=262144\0"
    isid_tsih = bytes([0x80, 0x12, 0x34, 0x56, 0x78, 0x9A, 0x00, 0x07])
    login = bytes([0x23, 0x87, 0x00, 0x00, 0]) + len(keys).to_bytes(3, "big") + isid_tsih
    login += struct.pack(">IIIIIBB", 0x10, 0, 1, 2, 65, 0, 0) + b"\0" * 10
    yield "login_response", login + pad(keys)

    # SCSI Response: CHECK CONDITION, NOT READY / MEDIUM NOT PRESENT sense, underflow.
    sense = bytes([0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x3A, 0x00, 0, 0, 0, 0])
    seg = struct.pack(">H", len(sense)) + sense
    rest = struct.pack(">IIIIIII", 0, 7, 8, 72, 0, 0, 4096)
    yield "scsi_response_sense", bhs(0x21, 0x82, 0x00, 0x02, len(seg), itt=0x2A, rest=rest) + pad(seg)

    # Data-In, last PDU of a read, carrying GOOD status.
    data = bytes(range(256)) * 2
    rest = struct.pack(">IIIIIII", 0xFFFFFFFF, 9, 10, 74, 1, 512, 0)
    yield "data_in_status", bhs(0x25, 0x81, 0, 0, len(data), lun=b"\0\x01" + b"\0" * 6, itt=0x2B, rest=rest) + data

    # R2T for 64 KiB at offset 64 KiB.
    rest = struct.pack(">IIIIIII", 0x1000, 11, 12, 76, 0, 65536, 65536)
    yield "r2t", bhs(0x31, 0x80, lun=b"\0\x02" + b"\0" * 6, itt=0x2C, rest=rest)

    # NOP-In: the target pings (no ITT, a TTT to echo).
    rest = struct.pack(">IIII", 0x77, 13, 14, 78)
    yield "nop_in_ping", bhs(0x20, 0x80, itt=0xFFFFFFFF, rest=rest)

    # Asynchronous Message: the target requests logout within 5 seconds.
    rest = struct.pack(">IIIIBBHHH", 0, 15, 16, 80, 1, 0, 0, 0, 5)
    yield "async_logout_request", bhs(0x32, 0x80, itt=0xFFFFFFFF, rest=rest)

    # Reject of a malformed SCSI Command, whose BHS rides in the data segment.
    rejected = bhs(0x01, 0xC1, dsl=0, itt=0x2D, rest=struct.pack(">III", 512, 20, 17) + bytes([0x28]))
    rest = struct.pack(">IIIII", 0, 17, 18, 82, 0)
    yield "reject_protocol_error", bhs(0x3F, 0x80, 0x04, dsl=48, itt=0xFFFFFFFF, rest=rest) + rejected

    # Logout Response and Task Management Response, no data.
    yield "logout_response", bhs(0x26, 0x80, 0, itt=0x2E, rest=struct.pack(">IIIIIHH", 0, 19, 20, 84, 0, 2, 20))
    yield "tmf_response", bhs(0x22, 0x80, 0, itt=0x2F, rest=struct.pack(">IIII", 0, 21, 22, 86))

    # A SCSI Read(10) command behind an iSER header advertising the read buffer (RSV).
    iser = bytes([0x14, 0, 0, 0]) + struct.pack(">IQIQ", 0, 0, 0x1234, 0x7F0000001000)
    cmd = bhs(0x01, 0xC1, lun=b"\0" * 8, itt=0x30,
              rest=struct.pack(">III", 4096, 23, 24) + bytes([0x28, 0, 0, 0, 0, 8, 0, 0, 8, 0]))
    yield "iser_read10", iser + cmd


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, blob in seeds():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(blob)
        print(f"{name}: {len(blob)} bytes")


if __name__ == "__main__":
    main()
