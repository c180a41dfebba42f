"""An independent reader and writer of libvinfringe's container (docs/file-formats.md).

Used by the model tools in this folder and as a cross-check of the C reader. Standard library only
(numpy optional: tensors come back as (dtype, dims, bytes) or numpy arrays when numpy is there).
"""
import struct
import zlib

MAGIC = {"model": b"VIMODEL\0", "embedding": b"VIEMBED\0", "index": b"VIINDEX\0"}
VERSION = 1
F32, U8Q, I64 = 1, 2, 3


class Tensor:
    """A tensor entry: dtype (F32, U8Q, I64), dims, raw little-endian bytes, and for U8Q the
    dequantisation (value = q * scale + min)."""

    def __init__(self, dtype, dims, data, scale=0.0, qmin=0.0):
        self.dtype, self.dims, self.data, self.scale, self.qmin = dtype, list(dims), data, scale, qmin

    def numpy(self):
        import numpy as np
        if self.dtype == F32:
            return np.frombuffer(self.data, "<f4").reshape(self.dims)
        if self.dtype == I64:
            return np.frombuffer(self.data, "<i8").reshape(self.dims)
        q = np.frombuffer(self.data, np.uint8).astype(np.float32)
        return (q * np.float32(self.scale) + np.float32(self.qmin)).reshape(self.dims)

    @staticmethod
    def from_numpy(array):
        import numpy as np
        a = np.ascontiguousarray(array)
        if a.dtype.kind == "i":
            return Tensor(I64, a.shape, a.astype("<i8").tobytes())
        return Tensor(F32, a.shape, a.astype("<f4").tobytes())


def read(path_or_bytes, kind):
    """Parse a container of `kind` ("model", "embedding", "index") into an ordered dict."""
    buf = path_or_bytes if isinstance(path_or_bytes, (bytes, bytearray)) else open(path_or_bytes, "rb").read()
    if len(buf) < 40 or buf[:8] != MAGIC[kind]:
        raise ValueError("not a %s file" % kind)
    version, _flags, size, csize, crc, hcrc = struct.unpack_from("<IIQQII", buf, 8)
    if zlib.crc32(buf[:36]) != hcrc:
        raise ValueError("header checksum mismatch")
    if version > VERSION:
        raise ValueError("format version %d is newer than %d" % (version, VERSION))
    if csize != len(buf) - 40:
        raise ValueError("truncated or padded file")
    payload = zlib.decompress(buf[40:])
    if len(payload) != size or zlib.crc32(payload) != crc:
        raise ValueError("payload size or checksum mismatch")
    (count,), pos, out = struct.unpack_from("<I", payload, 0), 4, {}
    for _ in range(count):
        (klen,) = struct.unpack_from("<H", payload, pos)
        key = payload[pos + 2:pos + 2 + klen].decode()
        typ = payload[pos + 2 + klen]
        pos += 3 + klen
        if typ == 1:
            (n,) = struct.unpack_from("<I", payload, pos)
            out[key] = payload[pos + 4:pos + 4 + n].decode()
            pos += 4 + n
        elif typ == 2:
            (out[key],) = struct.unpack_from("<q", payload, pos)
            pos += 8
        elif typ == 3:
            (out[key],) = struct.unpack_from("<d", payload, pos)
            pos += 8
        elif typ == 4:
            dtype, ndim = payload[pos], payload[pos + 1]
            dims = list(struct.unpack_from("<%dq" % ndim, payload, pos + 2))
            pos += 2 + 8 * ndim
            scale = qmin = 0.0
            if dtype == U8Q:
                scale, qmin = struct.unpack_from("<ff", payload, pos)
                pos += 8
            (nbytes,) = struct.unpack_from("<Q", payload, pos)
            out[key] = Tensor(dtype, dims, bytes(payload[pos + 8:pos + 8 + nbytes]), scale, qmin)
            pos += 8 + nbytes
        else:
            raise ValueError("unknown entry type %d" % typ)
    if pos != len(payload):
        raise ValueError("stray bytes after the entries")
    return out


def write(path, kind, entries):
    """Write `entries` (str, int, float or Tensor values, in order) as a container of `kind`."""
    parts = [struct.pack("<I", len(entries))]
    for key, value in entries.items():
        k = key.encode()
        if isinstance(value, str):
            v = value.encode()
            parts.append(struct.pack("<H", len(k)) + k + bytes([1]) + struct.pack("<I", len(v)) + v)
        elif isinstance(value, bool) or isinstance(value, int):
            parts.append(struct.pack("<H", len(k)) + k + bytes([2]) + struct.pack("<q", int(value)))
        elif isinstance(value, float):
            parts.append(struct.pack("<H", len(k)) + k + bytes([3]) + struct.pack("<d", value))
        else:
            t = value
            head = bytes([t.dtype, len(t.dims)]) + struct.pack("<%dq" % len(t.dims), *t.dims)
            if t.dtype == U8Q:
                head += struct.pack("<ff", t.scale, t.qmin)
            parts.append(struct.pack("<H", len(k)) + k + bytes([4]) + head +
                         struct.pack("<Q", len(t.data)) + t.data)
    payload = b"".join(parts)
    comp = zlib.compress(payload, 6)
    header = MAGIC[kind] + struct.pack("<IIQQI", VERSION, 0, len(payload), len(comp), zlib.crc32(payload))
    header += struct.pack("<I", zlib.crc32(header))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(header + comp)
    import os
    os.replace(tmp, path)
