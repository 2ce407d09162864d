"""Benchmarks name the CPU they ran on."""

from __future__ import annotations

from devtools.machine import describe_cpu

ZEN3 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC
flags\t\t: fpu sse sse2 avx f16c fma avx2 bmi2 sha_ni

processor\t: 1
model name\t: something else entirely
flags\t\t: avx512f
"""

SAPPHIRE_RAPIDS = """processor : 0
cpu family : 6
model : 143
model name : Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags : fpu avx avx2 avx512f avx512bw amx_bf16 amx_tile
"""


def test_the_first_cpu_is_described_with_its_vector_units() -> None:
    assert describe_cpu(ZEN3, cpus=2) == "AMD EPYC (family 25, model 1), 2 CPUs, AVX2, no AVX-512"
    assert describe_cpu(SAPPHIRE_RAPIDS, cpus=4) == (
        "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz (family 6, model 143), 4 CPUs, AVX-512, AMX"
    )


def test_without_cpuinfo_it_still_says_something() -> None:
    line = describe_cpu("", cpus=3)
    assert line.endswith(", 3 CPUs") and len(line) > len(", 3 CPUs")


def test_this_machine() -> None:
    line = describe_cpu()
    assert "CPUs" in line
