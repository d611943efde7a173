"""Read a tabpipe tensor stream (.tps) into numpy arrays.

A library module of the benchmarks (imported by reference.py and
torch_speed.py); it needs only the standard library and numpy. The layout,
as lib/data/stream.h and man/man5/tabpipe-stream.5 give it, all little-endian:

    header   "TPSTREAM", version (uint32), J (uint32), J bytes of encoding
             JSON, CRC-32 of the JSON
    block    24 bytes: rows R, flags (bit 0: zlib), raw length, stored
             length, payload CRC, CRC-32 of these 20 bytes; then the stored
             payload, once inflated R ids (int64), R x ncat categories
             (int32), R x nnum numerics (float32, NaN missing), R labels
             (int8, -1 missing)
    end      a block of R = 0 whose payload starts with the total row count

The header and block-header CRCs and the total are checked; the payload CRC
is left to the C reader (tabpipe-train and friends read the same files), so
that this reader does not depend on what the CRC covers.
"""

import json
import struct
import zlib

import numpy as np


class Stream:
    """A whole stream in memory: enc (the encoding JSON as a dict), id (n),
    cat (n, ncat) int32, num (n, nnum) float32, label (n) int8."""

    def __init__(self, enc, ids, cat, num, label):
        self.enc, self.id, self.cat, self.num, self.label = enc, ids, cat, num, label

    def __len__(self):
        return len(self.label)

    def vocab_sizes(self):
        return [len(c["vocabulary"]) for c in self.enc["columns"]
                if c["kind"] == "categorical"]

    def take(self, rows):
        """The stream of the given rows (an index array)."""
        return Stream(self.enc, self.id[rows], self.cat[rows], self.num[rows],
                      self.label[rows])


def load(path):
    """Reads the stream at path; raises ValueError on a malformed one."""
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:8] != b"TPSTREAM":
        raise ValueError(f"{path}: not a tensor stream (magic {buf[:8]!r})")
    version, jlen = struct.unpack_from("<II", buf, 8)
    if version != 1:
        raise ValueError(f"{path}: format version {version}, expected 1")
    text = buf[16:16 + jlen]
    (jcrc,) = struct.unpack_from("<I", buf, 16 + jlen)
    if zlib.crc32(text) != jcrc:
        raise ValueError(f"{path}: corrupt: header CRC mismatch")
    enc = json.loads(text.decode("utf-8"))
    ncat = sum(c["kind"] == "categorical" for c in enc["columns"])
    nnum = sum(c["kind"] == "numeric" for c in enc["columns"])
    rowbytes = 8 + 4 * ncat + 4 * nnum + 1
    pos = 16 + jlen + 4
    ids, cats, nums, labels = [], [], [], []
    total = 0
    while True:
        if pos + 24 > len(buf):
            raise ValueError(f"{path}: truncated at byte {pos}")
        rows, flags, rawlen, storedlen, _pcrc, hcrc = struct.unpack_from("<6I", buf, pos)
        if zlib.crc32(buf[pos:pos + 20]) != hcrc:
            raise ValueError(f"{path}: corrupt: block header CRC at byte {pos}")
        pos += 24
        stored = buf[pos:pos + storedlen]
        if len(stored) != storedlen:
            raise ValueError(f"{path}: truncated in a block payload")
        pos += storedlen
        raw = zlib.decompress(stored) if flags & 1 else stored
        if len(raw) != rawlen:
            raise ValueError(f"{path}: corrupt: payload of {len(raw)} bytes, {rawlen} declared")
        if rows == 0:
            (declared,) = struct.unpack_from("<Q", raw, 0)
            if declared != total:
                raise ValueError(f"{path}: end block says {declared} rows, read {total}")
            break
        if rawlen != rows * rowbytes:
            raise ValueError(f"{path}: block of {rows} rows has {rawlen} bytes")
        o = 0
        ids.append(np.frombuffer(raw, "<i8", rows, o)); o += 8 * rows
        cats.append(np.frombuffer(raw, "<i4", rows * ncat, o).reshape(rows, ncat)); o += 4 * rows * ncat
        nums.append(np.frombuffer(raw, "<f4", rows * nnum, o).reshape(rows, nnum)); o += 4 * rows * nnum
        labels.append(np.frombuffer(raw, "i1", rows, o))
        total += rows
    if pos != len(buf):
        raise ValueError(f"{path}: {len(buf) - pos} bytes after the end block")
    if total == 0:
        return Stream(enc, np.zeros(0, np.int64), np.zeros((0, ncat), np.int32),
                      np.zeros((0, nnum), np.float32), np.zeros(0, np.int8))
    return Stream(enc, np.concatenate(ids), np.concatenate(cats).astype(np.int32),
                  np.concatenate(nums).astype(np.float32), np.concatenate(labels))
