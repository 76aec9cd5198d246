"""The CPU facts bench/compare.py records, so that results from different
machines can be put side by side: lscpu's model name, vendor, family, model
and stepping, the SIMD flags that matter to the kernels, the caches (from
/sys/devices/system/cpu/cpu0/cache), the cores, and a one-line name of the
CPU kind such as "AMD EPYC, family 25 model 1 (Zen 3), AVX2, 2 vCPUs".

    python bench/machine_facts.py     # prints them as JSON
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

FLAGS_OF_INTEREST = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512vl", "avx512bw", "avx512dq",
                     "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile")


def lscpu():
    """lscpu's "Key: value" lines as a dict ({} where there is no lscpu)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True,
                             env={**os.environ, "LC_ALL": "C"}).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    facts = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in facts:
            facts[key.strip()] = value.strip()
    return facts


def proc_cpuinfo():
    """The first processor's block of /proc/cpuinfo (where lscpu is missing)."""
    facts = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                facts[key.strip()] = value.strip()
    except OSError:
        pass
    return {"Model name": facts.get("model name"), "Vendor ID": facts.get("vendor_id"),
            "CPU family": facts.get("cpu family"), "Model": facts.get("model"), "Stepping": facts.get("stepping"),
            "Flags": facts.get("flags", "")}


def caches(cpu=0):
    """Each cache of one CPU: level, type, size, ways, line size and the CPUs
    that share it, as sysfs gives them."""
    out = []
    for index in sorted(Path(f"/sys/devices/system/cpu/cpu{cpu}/cache").glob("index*")):
        entry = {}
        for name in ("level", "type", "size", "ways_of_associativity", "coherency_line_size", "shared_cpu_list"):
            try:
                entry[name] = (index / name).read_text().strip()
            except OSError:
                entry[name] = None
        out.append(entry)
    return out


def _int(text):
    try:
        return int(text, 0) if isinstance(text, str) else None
    except ValueError:
        return None


def microarchitecture(vendor, family, model):
    """The core's name for the family and model numbers this knows (AMD's
    Zen generations, Intel's server cores), else None."""
    if family is None or model is None:
        return None
    if vendor == "AuthenticAMD":
        if family == 23:
            return "Zen or Zen+" if model < 0x30 else "Zen 2"
        if family == 25:
            return "Zen 4" if 0x10 <= model <= 0x1F or 0x60 <= model <= 0x7F or 0xA0 <= model <= 0xAF else "Zen 3"
        if family == 26:
            return "Zen 5"
    if vendor == "GenuineIntel" and family == 6:
        return {0x3F: "Haswell", 0x4F: "Broadwell", 0x55: "Skylake or Cascade Lake", 0x6A: "Ice Lake",
                0x6C: "Ice Lake", 0x8F: "Sapphire Rapids", 0xCF: "Emerald Rapids", 0xAD: "Granite Rapids",
                0xAE: "Granite Rapids", 0xAF: "Sierra Forest"}.get(model)
    return None


def machine_facts():
    """Everything above as one JSON-ready dict."""
    facts = lscpu() or proc_cpuinfo()
    flags = set((facts.get("Flags") or "").split())
    vendor = facts.get("Vendor ID")
    family, model = _int(facts.get("CPU family")), _int(facts.get("Model"))
    uarch = microarchitecture(vendor, family, model)
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    hypervisor = facts.get("Hypervisor vendor")
    name = facts.get("Model name") or platform.processor() or "unknown CPU"
    kind = name
    if family is not None:
        kind += f", family {family} model {model}" + (f" ({uarch})" if uarch else "")
    kind += f", {simd}, {cpus} {'vCPUs' if hypervisor else 'cores'}"
    return {
        "kind": kind,
        "model_name": name,
        "vendor": vendor,
        "family": family,
        "model": model,
        "stepping": _int(facts.get("Stepping")),
        "microarchitecture": uarch,
        "flags": {f: f in flags for f in FLAGS_OF_INTEREST},
        "caches": caches(),
        "lscpu_caches": {k: facts.get(k) for k in ("L1d cache", "L1i cache", "L2 cache", "L3 cache")},
        "cpus_usable": cpus,
        "cpus_online": os.cpu_count(),
        "threads_per_core": _int(facts.get("Thread(s) per core")),
        "cores_per_socket": _int(facts.get("Core(s) per socket")),
        "sockets": _int(facts.get("Socket(s)")),
        "hypervisor": hypervisor,
        "kernel": platform.release(),
    }


if __name__ == "__main__":
    print(json.dumps(machine_facts(), indent=1))
