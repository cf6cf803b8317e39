"""Registers the embedded synthetic generator as the format ``synthetic``.

``load_dataset("synthetic", subjects=60, seed=1)`` generates raw tracker-like coordinates
(normalised image coordinates, y down) and applies the infant pipeline by default, exactly as
if the recordings had been written to tracker CSVs and read back.
"""

from __future__ import annotations

from pathlib import Path

from gcn_models.dataset import SkeletonDataset
from gcn_models.layouts import SkeletonLayout
from gcn_models.preprocess import infant_preprocessing
from gcn_models.readers.registry import ReaderSpec, register_reader

SOURCE_NAME = "synthetic"


def read_synthetic(
    source: str | Path,
    *,
    layout: SkeletonLayout | None = None,
    subjects: int | None = None,
    seed: int = 0,
    positive_fraction: float | None = None,
    duration_s: float | None = None,
) -> SkeletonDataset:
    """Generate the synthetic infant-like dataset (raw image coordinates).

    Args:
        source: Must be ``"synthetic"``.
        layout: Must be ``None`` or ``infant19``.
        subjects: Number of subjects (one recording each); the generator default when None.
        seed: Random seed; the same seed gives the same data.
        positive_fraction: Share of positive subjects; the generator default when None.
        duration_s: Recording length in seconds; the generator default when None.

    Raises:
        ValueError: For another layout.
    """
    from gcn_models.synthetic import SyntheticConfig, make_synthetic_dataset

    if layout is not None and layout.name != "infant19":
        raise ValueError(
            f"the synthetic generator makes `infant19` skeletons, not `{layout.name}`"
        )
    defaults = SyntheticConfig()
    return make_synthetic_dataset(
        subjects=subjects if subjects is not None else defaults.subjects,
        seed=seed,
        positive_fraction=(
            positive_fraction if positive_fraction is not None else defaults.positive_fraction
        ),
        duration_s=duration_s if duration_s is not None else defaults.duration_s,
        raw=True,
    )


register_reader(
    ReaderSpec(
        name="synthetic",
        read=read_synthetic,
        detect=lambda source: str(source) == SOURCE_NAME,
        default_preprocessing=lambda ds: infant_preprocessing(),
        description="embedded infant-like movement generator (`synthetic`)",
    )
)
