"""Read and write safetensors files, the format of tabpipe's model files.

A library module of the golden test (imported by tabtransformer.py and
reference.py, not run by itself). It needs only the standard library and
numpy, since the `safetensors` Python package is not installed here.

The layout, as lib/model/safetensors.h and Hugging Face define it:

    8 bytes   N, the length of the header, uint64 little-endian
    N bytes   a JSON object: for each tensor, "name": {"dtype": "F32",
              "shape": [..], "data_offsets": [begin, end]} with offsets
              relative to the end of the header; and "__metadata__", an
              object of string values; padded with spaces so that the data
              starts 8-byte aligned
    the data  the tensors' bytes, little-endian, back to back

Only the dtypes tabpipe uses are known: F32, I32 and I8.

The format has no checksum, so tabpipe adds one to the metadata, as this
module does: "tensors_sha256", the SHA-256 of the data (every byte after
the header) in lowercase hex. `load` refuses a file whose data does not
match it, and reads one without it (of another writer) unchecked.
"""

import hashlib
import json
import os
import re
import struct

import numpy as np

DTYPES = {"F32": np.dtype("<f4"), "I32": np.dtype("<i4"), "I8": np.dtype("i1")}
NAMES = {dt: name for name, dt in DTYPES.items()}
DIGEST = "tensors_sha256"


def load(path):
    """Return (tensors, metadata) of a safetensors file.

    tensors maps each name to a numpy array (a copy, writable) of its dtype
    and shape, in the order of the file's header; metadata is the
    "__metadata__" object (an empty dict when absent). Raises ValueError on
    a malformed file, or one whose data does not match its tensors_sha256.
    """
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise ValueError(f"{path}: {len(buf)} bytes, not a safetensors file")
    (hlen,) = struct.unpack("<Q", buf[:8])
    if hlen > len(buf) - 8:
        raise ValueError(f"{path}: header of {hlen} bytes in a file of {len(buf)}")
    header = json.loads(buf[8 : 8 + hlen].decode("utf-8"))
    data = memoryview(buf)[8 + hlen :]
    metadata = header.pop("__metadata__", {})
    if DIGEST in metadata:
        want = metadata[DIGEST]
        if not isinstance(want, str) or not re.fullmatch("[0-9a-f]{64}", want):
            raise ValueError(f"{path}: its {DIGEST} is not 64 lowercase hexadecimal digits")
        if hashlib.sha256(data).hexdigest() != want:
            raise ValueError(f"{path}: the tensors' data do not match their SHA-256 "
                             f"({DIGEST}): the file is damaged")
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] not in DTYPES:
            raise ValueError(f"{path}: tensor {name!r}: dtype {entry['dtype']}")
        dtype = DTYPES[entry["dtype"]]
        shape = tuple(entry["shape"])
        begin, end = entry["data_offsets"]
        count = int(np.prod(shape, dtype=np.int64))
        if not 0 <= begin <= end <= len(data) or end - begin != count * dtype.itemsize:
            raise ValueError(
                f"{path}: tensor {name!r}: data_offsets [{begin}, {end}] "
                f"do not fit shape {list(shape)} of {entry['dtype']} "
                f"in {len(data)} bytes of data"
            )
        arr = np.frombuffer(data[begin:end], dtype=dtype, count=count)
        tensors[name] = arr.reshape(shape).copy()
    return tensors, metadata


def save(path, tensors, metadata=None):
    """Write tensors (a dict of name to numpy array, in the order given) and
    metadata (a dict of strings, or None, to which the data's
    tensors_sha256 is added) to path, atomically.

    Arrays are converted to the little-endian dtype of their kind; other
    dtypes than float32, int32 and int8 raise ValueError. The output depends
    only on the arguments, so the same inputs give the same bytes.
    """
    header = {"__metadata__": {str(k): str(v) for k, v in (metadata or {}).items()
                               if k != DIGEST}}
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        arr = np.asarray(arr)
        dtype = arr.dtype.newbyteorder("<") if arr.dtype.itemsize > 1 else arr.dtype
        if dtype not in NAMES:
            raise ValueError(f"tensor {name!r}: dtype {arr.dtype} is not F32, I32 or I8")
        blob = np.ascontiguousarray(arr, dtype=dtype).tobytes()
        header[name] = {
            "dtype": NAMES[dtype],
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"][DIGEST] = hashlib.sha256(b"".join(blobs)).hexdigest()
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for blob in blobs:
                f.write(blob)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
