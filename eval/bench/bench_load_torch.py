#!/usr/bin/env python3
"""bench_load_torch.py -- the PyTorch side of eval/bench/bench_load.sh: time from
process start to a ready reranker (T5EncoderModel + RankT5 head, weights
loaded) and the resident memory it holds, on the same checkpoint.

  python3 eval/bench/bench_load_torch.py PATH [default|mmap]

default: build the module, torch.load(PATH, map_location="cpu"),
         load_state_dict -- what most model-card code does.
mmap:    the fastest PyTorch path: module on the meta device,
         torch.load(mmap=True), load_state_dict(assign=True).
Prints one JSON object.
"""
import json
import os
import sys
import time


def since_process_start():
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    start = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return time.clock_gettime(time.CLOCK_BOOTTIME) - start


def mem():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[k] = int(v.split()[0]) / 1024.0
    return out


def main():
    path, mode = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "default")
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "gen"))
    from rankt5_reference import T5_3B, RankT5, t5_config
    t_imported = since_process_start()
    base = mem()

    config = t5_config(**T5_3B)
    t0 = time.perf_counter()
    if mode == "mmap":
        with torch.device("meta"):
            model = RankT5(config)
        sd = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
        model.load_state_dict(sd, assign=True)
    else:
        model = RankT5(config)
        sd = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(sd)
    del sd
    model.eval()
    t1 = time.perf_counter()
    m = mem()
    n_params = sum(p.numel() for p in model.parameters())
    print(json.dumps({
        "mode": mode, "torch": torch.__version__, "n_params": n_params,
        "import_s": round(t_imported, 3), "load_s": round(t1 - t0, 3),
        "process_start_to_ready_s": round(since_process_start(), 3),
        "ready": {"rss_mb": m["VmRSS"], "anon_mb": m["RssAnon"], "file_mb": m["RssFile"],
                  "added_rss_mb": m["VmRSS"] - base["VmRSS"],
                  "added_anon_mb": m["RssAnon"] - base["RssAnon"], "peak_rss_mb": m["VmHWM"]},
    }, indent=1))


if __name__ == "__main__":
    main()
