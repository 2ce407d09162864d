"""Which CPU a benchmark ran on. Speeds from different CPUs are not comparable (the development VM
changed CPU from one day to the next, with and without AVX-512), so every benchmark says it."""

from __future__ import annotations

import os
import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def _first_block(cpuinfo: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    return fields


def _vector_units(flags: set[str]) -> str:
    if "avx512f" in flags:
        return "AVX-512" + (", AMX" if "amx_tile" in flags else "")
    if "avx2" in flags:
        return "AVX2, no AVX-512"
    return "AVX, no AVX2" if "avx" in flags else "no AVX"


def describe_cpu(cpuinfo: str | None = None, cpus: int | None = None) -> str:
    """One line, e.g. 'AMD EPYC (family 25, model 1), 2 CPUs, AVX2, no AVX-512'. `cpuinfo` is the
    text of /proc/cpuinfo (read when None); elsewhere than Linux, what `platform` knows."""
    cpus = cpus or os.cpu_count() or 1
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO.read_text()
        except OSError:
            cpuinfo = ""
    fields = _first_block(cpuinfo)
    if "model name" not in fields:
        return f"{platform.processor() or platform.machine() or 'unknown CPU'}, {cpus} CPUs"
    name = fields["model name"]
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return f"{name}, {cpus} CPUs, {_vector_units(set(fields.get('flags', '').split()))}"
