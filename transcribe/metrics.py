"""Character error rate, as tests and benchmarks measure it: Simplified, punctuation and spaces removed."""
from transcribe.hallucination import normalised
from transcribe.simplified import to_simplified


def character_error_rate(reference: str, hypothesis: str) -> float:
    ref = normalised(to_simplified(reference))
    hyp = normalised(to_simplified(hypothesis))
    return edit_distance(ref, hyp) / max(1, len(ref))


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ca != cb))
    return row[-1]
