"""The CTranslate2 kernels this machine runs Whisper with, and another set to run the recognition tests again.

CTranslate2 picks its int8 matrix kernels by CPU vendor (Intel MKL on Intel, oneDNN elsewhere) and its
vectorised code by instruction set (AVX512 where the CPU has it, else AVX2, ...). Each combination rounds
differently, so Whisper's exact words, and what LocalAgreement commits, change from one machine to the next:
a test that holds only on the words of the machine it was written on fails on a newcomer's. `make test` runs
the suite with this machine's own kernels, then the tests marked `recognition` (and not `mechanism`) once more
with another set, so such a test fails here first.

The other set is one instruction set down (AVX2 in place of AVX-512, GENERIC in place of AVX2), with oneDNN's
matrix kernels on every vendor. On an Intel CPU that is also the other vendor's library. MKL is never chosen
on another vendor's CPU: it takes its slow paths there (6.2x oneDNN's time on one 70 s file on an AMD EPYC,
where GENERIC took 1.3x), and the rerun would cost more than the suite. One step down already writes
other words: on that EPYC, GENERIC changed the text of 3 of 16 segments of five recordings, and the word
timings of 11.

    python -m tests.kernels            what this machine runs, and the other set
    python -m tests.kernels --other    the other set as NAME=VALUE words, for `env`
"""
import sys
from pathlib import Path

# What CTranslate2 requires before it dispatches to its AVX-512 kernels (src/cpu/cpu_info.cc).
_AVX512_FLAGS = {"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"}


def cpu_info(path: Path = Path("/proc/cpuinfo")) -> tuple[str, set[str]]:
    """(vendor id, flags) of the first processor listed."""
    vendor, flags = "", set()
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "vendor_id" and not vendor:
            vendor = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return vendor, flags


def native_kernels(vendor: str, flags: set[str]) -> dict[str, str]:
    isa = "AVX512" if _AVX512_FLAGS <= flags else "AVX2" if "avx2" in flags else "GENERIC"
    return {"CT2_USE_MKL": "1" if vendor == "GenuineIntel" else "0", "CT2_FORCE_CPU_ISA": isa}


def other_kernels(vendor: str, flags: set[str]) -> dict[str, str]:
    """oneDNN's matrix kernels, one instruction set down (every x86 CPU runs both sets)."""
    native = native_kernels(vendor, flags)
    isa = {"AVX512": "AVX2", "AVX2": "GENERIC", "GENERIC": "GENERIC"}[native["CT2_FORCE_CPU_ISA"]]
    return {"CT2_USE_MKL": "0", "CT2_FORCE_CPU_ISA": isa}


def main(argv: list[str]) -> int:
    vendor, flags = cpu_info()
    other = other_kernels(vendor, flags)
    if argv == ["--other"]:
        print(" ".join(f"{name}={value}" for name, value in other.items()))
        return 0
    native = native_kernels(vendor, flags)
    print(f"this machine ({vendor}): {native}; the recognition tests run again with {other}")
    if other == native:
        print("this CPU has neither AVX2 nor Intel's MKL: the second run uses the same kernels and proves nothing more")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
