#!/usr/bin/env python3
"""gen_checkpoint_fixtures.py -- writes the checkpoint fixtures of tests/.

tests/fixtures/checkpoints/: tiny random T5 rerankers in the exact key layout
of naver/trecdl22-crossencoder-rankT53b-repro (a transformers T5EncoderModel
under `model.` plus the score head first_transform / layer_norm / linear),
saved by real torch.save and by the safetensors library, ReLU and gated-GELU,
f32 / f16 / bf16. Beside each weight set, <name>.values.txt holds every
tensor's values as written (one line per key: key, shape, float32 values in
%.9g, which round-trips exactly), so the C tests compare what rankt5 reads
with what Python wrote. MANIFEST.json records the versions used.

tests/fixtures/hostile/: hand-made bad files (hostile pickles, broken
archives, lying safetensors headers), each with the fragment of error message
rankt5 must print, in hostile/EXPECTED.tsv.

Run from the repo root:  python3 tests/gen/gen_checkpoint_fixtures.py
Needs torch, transformers and safetensors (pip); the C tests do not.
"""
import io
import json
import os
import pickle
import platform
import shutil
import struct
import sys
import zipfile

import safetensors
import safetensors.torch
import torch
import transformers

from rankt5_reference import RankT5, t5_config

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "checkpoints")
HOSTILE = os.path.join(ROOT, "tests", "fixtures", "hostile")

# Tiny dimensions; n_heads * d_kv (8) != d_model (16) on purpose.
DIMS = dict(vocab_size=40, d_model=16, d_kv=4, d_ff=32, num_layers=2, num_heads=2,
            relative_attention_num_buckets=8)


def make_state_dict(ffn, seed):
    torch.manual_seed(seed)
    model = RankT5(t5_config(feed_forward_proj=ffn, **DIMS))
    with torch.no_grad():  # non-trivial norms and biases, so a swap shows
        for name, p in model.named_parameters():
            if "layer_norm" in name or name.endswith("bias"):
                p.copy_(torch.randn_like(p) * 0.5 + (1.0 if name.endswith("weight") else 0.0))
    return model.state_dict()


def with_dtype(sd, dtype):
    """Casts, keeping shared / embed_tokens one storage as torch.save sees it."""
    out = {}
    cache = {}
    for k, v in sd.items():
        key = v.untyped_storage().data_ptr()
        if key not in cache:
            cache[key] = v.to(dtype)
        out[k] = cache[key]
    return out


def write_values(sd, path):
    with open(path, "w") as f:
        f.write("# key shape values... (float32 of each element, row-major)\n")
        for k, v in sd.items():
            flat = v.detach().to(torch.float32).contiguous().reshape(-1).tolist()
            shape = ",".join(str(s) for s in v.shape)
            f.write(f"{k} {shape} " + " ".join("%.9g" % x for x in flat) + "\n")


def save_torch(sd, name):
    torch.save(sd, os.path.join(OUT, name))


def save_safetensors(sd, name, drop_tied=True):
    """As save_pretrained does: the tied embed_tokens is left out."""
    d = {k: v.contiguous() for k, v in sd.items()
         if not (drop_tied and k.endswith("encoder.embed_tokens.weight"))}
    safetensors.torch.save_file(d, os.path.join(OUT, name), metadata={"format": "pt"})


def strided_variant(sd):
    """Same values, stored as a transposed view and as a slice at an offset."""
    out = dict(sd)
    w = sd["first_transform.weight"]
    out["first_transform.weight"] = w.t().contiguous().t()  # strides (1, d)
    big = torch.cat([torch.zeros(3), sd["linear.bias"], torch.ones(2)])
    out["linear.bias"] = big[3:4]  # storage offset 3 in a 6-element storage
    return out


def sharded(sd, folder, torch_format=False):
    """Two shards and an index, named as save_pretrained names them."""
    path = os.path.join(OUT, folder)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    keys = [k for k in sd if not k.endswith("encoder.embed_tokens.weight")]
    half = len(keys) // 2
    stem, ext = ("pytorch_model", "bin") if torch_format else ("model", "safetensors")
    shards = {f"{stem}-00001-of-00002.{ext}": keys[:half],
              f"{stem}-00002-of-00002.{ext}": keys[half:]}
    weight_map = {}
    for fname, ks in shards.items():
        part = {k: sd[k].contiguous() for k in ks}
        if torch_format:
            torch.save(part, os.path.join(path, fname))
        else:
            safetensors.torch.save_file(part, os.path.join(path, fname), metadata={"format": "pt"})
        weight_map.update({k: fname for k in ks})
    with open(os.path.join(path, f"{stem}.{ext}.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=1)
    config = dict(DIMS, feed_forward_proj="relu", layer_norm_epsilon=1e-5,
                  relative_attention_max_distance=64, model_type="t5")
    if not torch_format:
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(config, f, indent=1)


def checkpoints():
    os.makedirs(OUT, exist_ok=True)
    relu = make_state_dict("relu", 1)
    gated = make_state_dict("gated-gelu", 2)
    for dtype, tag in ((torch.float32, "f32"), (torch.float16, "f16"), (torch.bfloat16, "bf16")):
        r, g = with_dtype(relu, dtype), with_dtype(gated, dtype)
        write_values(r, os.path.join(OUT, f"relu_{tag}.values.txt"))
        write_values(g, os.path.join(OUT, f"gated_{tag}.values.txt"))
        save_torch(r, f"relu_{tag}.bin")
        save_torch(g, f"gated_{tag}.bin")
        save_safetensors(r, f"relu_{tag}.safetensors")
        save_safetensors(g, f"gated_{tag}.safetensors")
    save_torch(strided_variant(relu), "relu_f32_strided.bin")
    sharded(relu, "relu_f32_sharded")
    sharded(with_dtype(gated, torch.bfloat16), "gated_bf16_sharded_bin", torch_format=True)
    # The encoder saved on its own: keys without the "model." prefix.
    bare = {k[len("model."):] if k.startswith("model.") else k: v for k, v in relu.items()}
    save_safetensors(bare, "relu_f32_noprefix.safetensors")
    manifest = {
        "generator": "tests/gen/gen_checkpoint_fixtures.py",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        "dims": DIMS,
        "notes": "relu_* seed 1, gated_* seed 2; *.values.txt are the tensors as saved; "
                 "*.safetensors leave out the tied model.encoder.embed_tokens.weight; "
                 "relu_f32_sharded/config.json sets layer_norm_epsilon=1e-5 and "
                 "relative_attention_max_distance=64",
    }
    with open(os.path.join(OUT, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


# ---------------------------------------------------------------- hostile

MARKER = "/tmp/rankt5-hostile-pwned"  # the shell test checks it never appears


def op_str(s):  # BINUNICODE
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def op_int(n):  # BININT (signed 32) or LONG1
    if -2**31 <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    b = n.to_bytes(9, "little", signed=True).rstrip(b"\x00") or b"\x00"
    return b"\x8a" + bytes([len(b)]) + b


def op_tuple(items):
    return b"(" + b"".join(items) + b"t"


def tensor_pickle(specs):
    """A torch.save-shaped state-dict pickle: specs are
    (name, storage_class, key, numel, offset, shape, stride)."""
    out = b"\x80\x02ccollections\nOrderedDict\n)R("
    for name, cls, key, numel, offset, shape, stride in specs:
        pid = op_tuple([op_str("storage"), b"ctorch\n" + cls.encode() + b"\n", op_str(key),
                        op_str("cpu"), op_int(numel)])
        out += op_str(name) + b"ctorch._utils\n_rebuild_tensor_v2\n" + op_tuple([
            pid + b"Q", op_int(offset), op_tuple([op_int(x) for x in shape]),
            op_tuple([op_int(x) for x in stride]), b"\x89",
            b"ccollections\nOrderedDict\n)R"]) + b"R"
    return out + b"u."


def zput(z, name, data, method=zipfile.ZIP_STORED):
    """writestr with a fixed timestamp, so regenerated files are identical."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = method
    z.writestr(info, data)


def torch_zip(path, pkl, storages=None):
    """A stored ZIP laid out like torch.save's (prefix 'archive')."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        zput(z, "archive/data.pkl", pkl)
        for key, data in (storages or {}).items():
            zput(z, "archive/data/" + key, data)
        zput(z, "archive/version", "3\n")


class Reduce:
    """Pickles as a call of fn(*args): what a hostile checkpoint does."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def cd_records(data):
    """(offset, size) of each central-directory record and the EOCD offset."""
    eocd = data.rindex(b"PK\x05\x06")
    n, size, off = struct.unpack_from("<HII", data, eocd + 10)
    recs, at = [], off
    for _ in range(n):
        nl, el, cl = struct.unpack_from("<HHH", data, at + 28)
        recs.append((at, 46 + nl + el + cl))
        at += 46 + nl + el + cl
    return recs, eocd


def zip64ify(data, sizes=True):
    """Rewrites a small archive the way ZIP64 writers store big ones: central
    records keep their offset (and with sizes=True their sizes; torch.save
    moves only the offset of entries past 4 GiB) in a ZIP64 extra field, and
    the end record points to a ZIP64 end record through a locator."""
    recs, eocd = cd_records(data)
    cd_start = recs[0][0]
    cd = b""
    for at, ln in recs:
        r = bytearray(data[at:at + ln])
        nl, el, cl = struct.unpack_from("<HHH", r, 28)
        csize, usize = struct.unpack_from("<II", r, 20)
        (local,) = struct.unpack_from("<I", r, 42)
        if sizes:
            extra = struct.pack("<HHQQQ", 1, 24, usize, csize, local)
            struct.pack_into("<II", r, 20, 0xFFFFFFFF, 0xFFFFFFFF)
        else:
            extra = struct.pack("<HHQ", 1, 8, local)
        struct.pack_into("<I", r, 42, 0xFFFFFFFF)
        struct.pack_into("<H", r, 30, el + len(extra))
        cd += bytes(r[:46 + nl]) + extra + bytes(r[46 + nl:])
    n = len(recs)
    end64_at = cd_start + len(cd)
    end64 = struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, n, n, len(cd), cd_start)
    loc = struct.pack("<IIQI", 0x07064b50, 0, end64_at, 1)
    end = struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return data[:cd_start] + cd + end64 + loc + end


def safetensors_bytes(header, data, length=None):
    h = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def hostile():
    import os as os_module
    import subprocess
    # The legacy format names storages by memory address, so it differs on
    # every run: keep an existing copy to avoid churn.
    old_legacy = os.path.join(HOSTILE, "legacy_torch.bin")
    kept_legacy = open(old_legacy, "rb").read() if os.path.exists(old_legacy) else None
    shutil.rmtree(HOSTILE, ignore_errors=True)
    os.makedirs(HOSTILE)
    cases = []  # (file, status, fragment)

    def add(name, blob, status, fragment):
        with open(os.path.join(HOSTILE, name), "wb") as f:
            f.write(blob)
        cases.append((name, status, fragment))

    def add_pickle(name, pkl, status, fragment):
        buf = io.BytesIO()
        torch_zip(buf, pkl)
        add(name, buf.getvalue(), status, fragment)

    touch = f"touch {MARKER}"
    # Real pickles of calls, as an attacker would write them with pickle.dumps.
    add_pickle("pickle_os_system.bin", pickle_dumps(Reduce(os_module.system, (touch,))),
               "REFUSED", "refused pickle global 'posix.system'")
    add_pickle("pickle_builtins_eval.bin",
               pickle_dumps(Reduce(eval, (f"__import__('os').system('{touch}')",))),
               "REFUSED", "refused pickle global 'builtins.eval'")
    add_pickle("pickle_subprocess.bin",
               pickle_dumps(Reduce(subprocess.Popen, (["touch", MARKER],))),
               "REFUSED", "refused pickle global 'subprocess.Popen'")
    add_pickle("pickle_builtins_exec_py2_names.bin",
               pickle_dumps(Reduce(exec, (f"import os; os.system('{touch}')",)), fix_imports=True),
               "REFUSED", "refused pickle global '__builtin__.exec'")
    add_pickle("pickle_torch_load.bin", b"\x80\x02ctorch\nload\n" + op_tuple([op_str(MARKER)])
               + b"R.", "REFUSED", "refused pickle global 'torch.load'")
    # The classic attack: a real torch.save of a state dict with a payload.
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(4), "evil": Reduce(os_module.system, (touch,))}, buf)
    add("torch_save_with_payload.bin", buf.getvalue(), "REFUSED",
        "refused pickle global 'posix.system'")
    # A state dict whose second value smuggles a call in after a real tensor.
    good = tensor_pickle([("w", "FloatStorage", "0", 4, 0, [4], [1])])[:-2]
    add_pickle("pickle_call_inside_dict.bin", good + op_str("x") + b"cos\nsystem\n"
               + op_tuple([op_str(touch)]) + b"Ru.", "REFUSED", "refused pickle global 'os.system'")
    # Opcode tricks that import or call without GLOBAL+REDUCE.
    add_pickle("pickle_inst.bin", b"\x80\x02(" + op_str(touch) + b"ios\nsystem\n.", "REFUSED",
               "refused pickle opcode INST")
    add_pickle("pickle_obj.bin", b"\x80\x02(ccollections\nOrderedDict\no.", "REFUSED",
               "refused pickle opcode OBJ")
    add_pickle("pickle_newobj.bin", b"\x80\x02ccollections\nOrderedDict\n)\x81.", "REFUSED",
               "refused pickle opcode NEWOBJ")
    add_pickle("pickle_stack_global.bin", b"\x80\x02\x8c\x02os\x8c\x06system\x93"
               + op_tuple([op_str(touch)]) + b"R.", "REFUSED", "refused pickle opcode STACK_GLOBAL")
    add_pickle("pickle_protocol4_frame.bin", pickle.dumps({"a": 1}, protocol=4), "REFUSED",
               "refused pickle opcode FRAME")
    add_pickle("pickle_ext1.bin", b"\x80\x02\x82\x01.", "REFUSED", "refused pickle opcode EXT1")
    add_pickle("pickle_persid_text.bin", b"\x80\x02P0\n.", "REFUSED", "refused pickle opcode PERSID")
    add_pickle("pickle_storage_call.bin", b"\x80\x02ctorch\nFloatStorage\n)R.", "REFUSED",
               "may only appear in a persistent id")
    add_pickle("pickle_build_on_tensor.bin", good + b"}bu.", "REFUSED", "BUILD on a tensor")
    # Machine underflows and truncation.
    add_pickle("pickle_memo_underflow.bin", b"\x80\x02h\x05.", "FORMAT",
               "memo GET of an index never PUT")
    add_pickle("pickle_stack_underflow.bin", b"\x80\x02}s.", "FORMAT", "stack underflow")
    add_pickle("pickle_mark_underflow.bin", b"\x80\x02K\x01t.", "FORMAT", "no MARK")
    add_pickle("pickle_pop_below_mark.bin", b"\x80\x02K\x01(0.", "FORMAT", "stack underflow")
    add_pickle("pickle_huge_memo_index.bin", b"\x80\x02K\x01r\xff\xff\xff\x7f.", "FORMAT",
               "memo index larger than the pickle")
    add_pickle("pickle_truncated.bin", good[:len(good) // 2], "FORMAT", "truncated")
    add_pickle("pickle_string_past_end.bin", b"\x80\x02X\xff\xff\xff\x7fabc", "FORMAT",
               "string runs past the end")
    add_pickle("pickle_not_a_dict.bin", b"\x80\x02K\x01.", "FORMAT", "does not hold a dict")
    add_pickle("pickle_unknown_opcode.bin", b"\x80\x02\xff.", "FORMAT", "unknown pickle opcode 0xff")
    # Tensor views that do not fit their storages.
    for name, spec, store, frag in [
        ("storage_too_small.bin", ("w", "FloatStorage", "0", 16, 0, [4, 8], [8, 1]), 64,
         "beyond its storage"),
        ("storage_offset_past_end.bin", ("w", "FloatStorage", "0", 16, 14, [4], [1]), 64,
         "beyond its storage"),
        ("storage_bigger_than_entry.bin", ("w", "FloatStorage", "0", 1000, 0, [4], [1]), 64,
         "but its entry holds 64 bytes"),
        ("shape_product_overflow.bin", ("w", "FloatStorage", "0", 16, 0, [2**40, 2**40, 2**40],
                                        [0, 0, 0]), 64, "overflows"),
        ("stride_overflow.bin", ("w", "FloatStorage", "0", 16, 0, [2, 2], [2**62, 1]), 64,
         "overflows"),
        ("negative_stride.bin", ("w", "FloatStorage", "0", 16, 0, [4], [-1]), 64,
         "unexpected arguments"),
        ("missing_storage.bin", ("w", "FloatStorage", "7", 16, 0, [4], [1]), 64,
         "its storage '7' is not in the archive"),
        ("unknown_storage_class.bin", ("w", "ComplexFloatStorage", "0", 4, 0, [4], [1]), 64,
         "refused pickle global 'torch.ComplexFloatStorage'"),
    ]:
        buf = io.BytesIO()
        torch_zip(buf, tensor_pickle([spec]), {"0": bytes(store)})
        add(name, buf.getvalue(), "FORMAT" if "refused" not in frag else "REFUSED", frag)
    # Broken archives, starting from a real torch.save file.
    real = open(os.path.join(OUT, "relu_f32.bin"), "rb").read()
    add("zip_truncated.bin", real[:len(real) * 3 // 5], "FORMAT", "no end-of-central-directory")
    recs, eocd = cd_records(real)
    bad = bytearray(real)
    struct.pack_into("<I", bad, eocd + 16, 0x7FFFFFF0)
    add("zip_cd_outside_file.bin", bytes(bad), "FORMAT", "lies outside the file")
    bad = bytearray(real)
    struct.pack_into("<I", bad, recs[1][0] + 42, 0x7FFFFF00)
    add("zip_local_header_outside.bin", bytes(bad), "FORMAT", "outside the file or not a local header")
    bad = bytearray(real)  # entry 4's size grows over entry 5
    csize = struct.unpack_from("<I", bad, recs[4][0] + 20)[0] + 200
    struct.pack_into("<II", bad, recs[4][0] + 20, csize, csize)
    add("zip_entries_overlap.bin", bytes(bad), "FORMAT", "overlap")
    bad = bytearray(real)  # entry 3's data claimed to run into the directory
    struct.pack_into("<II", bad, recs[3][0] + 20, 0x7FFFFFF, 0x7FFFFFF)
    add("zip_entry_past_data.bin", bytes(bad), "FORMAT", "run past the data area")
    bad = bytearray(real)
    struct.pack_into("<H", bad, eocd + 10, 60000)
    struct.pack_into("<H", bad, eocd + 8, 60000)
    add("zip_entry_count_lies.bin", bytes(bad), "FORMAT", "entries in a")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        zput(z, "archive/data.pkl", good + b"u.", zipfile.ZIP_DEFLATED)
    add("zip_deflated.bin", buf.getvalue(), "UNSUPPORTED", "compressed (method 8)")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        zput(z, "something/else.txt", "hello")
    add("zip_not_torch.bin", buf.getvalue(), "FORMAT", "no '<name>/data.pkl' entry")
    bad = bytearray(real)  # a flipped byte inside data.pkl
    bad[real.index(b"model.shared.weight") + 2] ^= 0x20
    add("zip_pickle_crc.bin", bytes(bad), "FORMAT", "fails its CRC check")
    add("empty.bin", b"", "FORMAT", "not a checkpoint")
    legacy = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    add("legacy_torch.bin", kept_legacy or legacy.getvalue(), "UNSUPPORTED",
        "re-save it with a newer torch")
    # safetensors with lying headers.
    w = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
    st_cases = [
        ("st_header_too_long.safetensors", safetensors_bytes({"w": w}, bytes(16), 1 << 40),
         "larger than the file"),
        ("st_offsets_past_end.safetensors",
         safetensors_bytes({"w": dict(w, data_offsets=[0, 1600])}, bytes(16)), "past the data area"),
        ("st_offsets_overlap.safetensors",
         safetensors_bytes({"a": w, "b": dict(w, data_offsets=[8, 24])}, bytes(24)), "overlap"),
        ("st_offsets_gap.safetensors",
         safetensors_bytes({"a": w, "b": dict(w, data_offsets=[20, 36])}, bytes(36)), "gap"),
        ("st_size_mismatch.safetensors",
         safetensors_bytes({"w": dict(w, shape=[3, 2])}, bytes(16)), "beyond its storage of 16"),
        ("st_size_too_big.safetensors",
         safetensors_bytes({"w": dict(w, shape=[3])}, bytes(16)), "shape and dtype need 12"),
        ("st_shape_overflow.safetensors",
         safetensors_bytes({"w": dict(w, shape=[2**62, 2**62])}, bytes(16)), "overflows"),
        ("st_negative_offset.safetensors",
         safetensors_bytes({"w": dict(w, data_offsets=[-16, 0])}, bytes(16)), "data_offsets"),
        ("st_bad_json.safetensors", safetensors_bytes(b'{"w": {"dtype": "F32",', bytes(16)),
         "JSON error"),
        ("st_duplicate_key.safetensors",
         safetensors_bytes(b'{"w":' + json.dumps(w).encode() + b',"w":'
                           + json.dumps(w).encode() + b"}", bytes(16)), "duplicate"),
        ("st_unknown_dtype.safetensors",
         safetensors_bytes({"w": dict(w, dtype="F8_E4M3", shape=[16])}, bytes(16)),
         "dtype 'F8_E4M3' is not supported"),
        ("st_trailing_bytes.safetensors", safetensors_bytes({"w": w}, bytes(20)),
         "tensors cover 16"),
        ("st_too_many_dims.safetensors",
         safetensors_bytes({"w": dict(w, shape=[1] * 9 + [4])}, bytes(16)), "at most 8"),
    ]
    for name, blob, frag in st_cases:
        status = "UNSUPPORTED" if "not supported" in frag else "FORMAT"
        add(name, blob, status, frag)
    # An index whose shard name climbs out of the model folder.
    traversal = os.path.join(HOSTILE, "index_traversal")
    os.makedirs(traversal)
    with open(os.path.join(traversal, "model.safetensors.index.json"), "w") as f:
        json.dump({"weight_map": {"w": "../../../../etc/passwd"}}, f)
    cases.append(("index_traversal", "FORMAT", "not a file name in the index's folder"))
    # A real torch.save of the model with one weight saved as an expanded
    # (stride-0) view: converting it would blow 4 bytes up to d_model floats.
    sd = with_dtype(make_state_dict("relu", 1), torch.float32)
    sd["layer_norm.bias"] = torch.zeros(1).expand(DIMS["d_model"])
    buf = io.BytesIO()
    torch.save(sd, buf)
    add("expanded_view.bin", buf.getvalue(), "SHAPE", "elements overlap in the file")
    # A checkpoint that is well-formed but not a T5 reranker: shape errors.
    add("not_t5.safetensors", safetensors_bytes({"w": w}, bytes(16)), "SHAPE", "no embedding table")
    prove_payloads_run(["pickle_os_system.bin", "pickle_builtins_eval.bin",
                        "pickle_subprocess.bin", "pickle_builtins_exec_py2_names.bin",
                        "torch_save_with_payload.bin"])
    with open(os.path.join(HOSTILE, "EXPECTED.tsv"), "w") as f:
        f.write("# file\tstatus\tfragment of the error message (tests/gen/gen_checkpoint_fixtures.py)\n")
        for name, status, frag in cases:
            f.write(f"{name}\t{status}\t{frag}\n")


def prove_payloads_run(names):
    """Shows the payload files are really hostile: torch.load with
    weights_only=False (what older code does), in a child process, creates
    the marker file. It is removed again: the C tests check that rankt5
    never creates it."""
    import subprocess
    for name in names:
        if os.path.exists(MARKER):
            os.remove(MARKER)
        subprocess.run([sys.executable, "-c", "import sys, time, torch; "
                        "torch.load(sys.argv[1], weights_only=False); time.sleep(0.2)",
                        os.path.join(HOSTILE, name)], capture_output=True)
        ran = os.path.exists(MARKER)
        if ran:
            os.remove(MARKER)
        assert ran, f"{name}: Python's unpickler did not run the payload"


def pickle_dumps(obj, fix_imports=False):
    return pickle.dumps(obj, protocol=2, fix_imports=fix_imports)


def zip64_fixture():
    real = open(os.path.join(OUT, "relu_f32.bin"), "rb").read()
    with open(os.path.join(OUT, "relu_f32_zip64.bin"), "wb") as f:
        f.write(zip64ify(real))
    with open(os.path.join(OUT, "relu_f32_zip64_offsets.bin"), "wb") as f:
        f.write(zip64ify(real, sizes=False))
    for name in ("relu_f32_zip64.bin", "relu_f32_zip64_offsets.bin"):
        with zipfile.ZipFile(os.path.join(OUT, name)) as z:  # Python reads them
            assert z.read("relu_f32/version") == b"3\n"


if __name__ == "__main__":
    checkpoints()
    zip64_fixture()
    hostile()
