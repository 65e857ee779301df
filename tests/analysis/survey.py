"""A generated community security survey with the demo form's fields and a stratified,
clustered design: districts are strata, settlements are clusters (PSUs), weights vary by
settlement and respondent. One small district (4 respondents) exercises disclosure control."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

SAFETY = ["very_safe", "safe", "unsafe", "very_unsafe"]
CONCERNS = [
    "unemployment",
    "youth_idleness",
    "gbv",
    "domestic_violence",
    "police_abuse",
    "corruption",
    "drugs",
    "theft",
    "conflict_neighbours",
    "radicalisation",
    "poor_services",
    "land_water",
]
INDICATORS_FILE = (
    Path(__file__).resolve().parents[2]
    / "src/amniyat/analysis/data/community_security_indicators.yaml"
)
SMALL_DISTRICT = "sughd_small"


def make_demo_survey(seed: int = 7, *, districts: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    records: dict[str, list[Any]] = {
        name: []
        for name in (
            "district",
            "settlement",
            "sex",
            "age",
            "age_band",
            "returning_migrant",
            "safe_day",
            "safe_night",
            "concerns",
            "causes",
            "trust_police",
            "trust_local_authority",
            "authorities_consult",
            "women_participate",
            "youth_participate",
            "harassment_experienced",
            "violence_experienced",
            "aware_community_group",
            "participated_community_meeting",
            "weight",
            "stratum",
            "cluster",
        )
    }
    plan = [(f"district_{h}", int(rng.integers(3, 6)), (12, 30)) for h in range(districts)]
    plan.append((SMALL_DISTRICT, 2, (2, 2)))
    for district, settlements, sizes in plan:
        effect = rng.normal(0, 0.6)
        for c in range(settlements):
            cluster = f"{district}-s{c + 1}"
            base_weight = rng.lognormal(4, 0.5)
            local = effect + rng.normal(0, 0.5)
            for _ in range(int(rng.integers(sizes[0], sizes[1] + 1))):
                age = int(rng.integers(18, 80))
                sex = "female" if rng.random() < 0.52 else "male"
                records["district"].append(district)
                records["settlement"].append(cluster)
                records["sex"].append(sex)
                records["age"].append(age)
                records["age_band"].append(
                    "18-29" if age < 30 else "30-44" if age < 45 else "45-59" if age < 60 else "60+"
                )
                records["returning_migrant"].append("yes" if rng.random() < 0.15 else "no")
                shift = int(np.clip(np.round(rng.normal(1.2 - local, 1.0)), 0, 3))
                records["safe_day"].append(SAFETY[max(shift - 1, 0)])
                records["safe_night"].append(None if rng.random() < 0.05 else SAFETY[shift])
                chosen = [name for name in CONCERNS if rng.random() < 0.2]
                records["concerns"].append(" ".join(chosen) if rng.random() > 0.05 else None)
                records["causes"].append("free text")
                trust = int(np.clip(np.round(rng.normal(3 + local, 1.1)), 1, 5))
                records["trust_police"].append(None if rng.random() < 0.08 else trust)
                records["trust_local_authority"].append(int(rng.integers(1, 6)))
                for name in ("authorities_consult", "women_participate", "youth_participate"):
                    records[name].append(str(rng.choice(["yes", "no", "dont_know"])))
                for name in ("harassment_experienced", "violence_experienced"):
                    records[name].append(str(rng.choice(["yes", "no", "no", "no", "refused"])))
                aware = "yes" if rng.random() < 0.4 + 0.1 * local else "no"
                records["aware_community_group"].append(aware)
                records["participated_community_meeting"].append(
                    "yes" if aware == "yes" and rng.random() < 0.5 else "no"
                )
                records["weight"].append(base_weight * rng.lognormal(0, 0.2))
                records["stratum"].append(district)
                records["cluster"].append(cluster)
    return pl.DataFrame(
        records,
        schema_overrides={"age": pl.Int64, "trust_police": pl.Int64, "concerns": pl.String},
    )
