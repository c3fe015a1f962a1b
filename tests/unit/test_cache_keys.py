"""Every preset's cache key stays what it was: a restructure must not orphan anyone's cache.

`tests/data/preset_cache_keys.json` holds a digest of each run's full configuration (the result
cache's key material, with the repository's path written as <ROOT>), computed on main before the
package became subpackages (fbc6fc4). The runs are enumerated through today's API: the paper's
claims, every vis3d / table3 / toy / SphereNet / prototypes / retention preset. A change of a
default, a preset or a config's shape shows here; if it is meant, bump the cache format instead.
Runs added since carry their own keys, pinned when added: SphereNet's `sphere-learnable-official`
(the official code's learnable k, 2026-12-08), eight runs; no earlier key moved.
"""

import hashlib
import json
from pathlib import Path

from models.names import HEADS, OPERATORS_T3, TOY_KINDS
from sph_viz.experiments.prototypes import plan_comparison
from sph_viz.experiments.registry import PRESETS
from sph_viz.experiments.retention import (
    RETENTION_PRESETS,
    retention_config_dict,
    retention_model_config,
    retention_train_config,
)
from sph_viz.experiments.specs import make_run_specs
from sph_viz.experiments.spherenet import SPHERENET_PRESETS, VARIANTS, plan_runs
from sph_viz.reports.paper import CLAIMS

ROOT = str(Path(__file__).resolve().parents[2])
EXPECTED = json.loads((Path(__file__).resolve().parents[1] / "data" / "preset_cache_keys.json").read_text())


def digest(config: dict) -> str:
    text = json.dumps(config, sort_keys=True, default=str).replace(ROOT, "<ROOT>")
    return hashlib.sha256(
        json.dumps(json.loads(text), sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()[:16]


def all_configs() -> dict[str, dict]:
    out = {}
    for claim in CLAIMS:
        for recipe in claim.recipes():
            for run in recipe.runs:
                for i, key in enumerate(run.keys):
                    out[f"claim/{claim.key}/{recipe.name}/{run.group}/{run.seed}/{i}"] = key
    for p in PRESETS["vis3d"]:
        for seed in (0, 1):
            for n, s in make_run_specs("vis3d", {"seed": seed}, HEADS, preset_name=p).items():
                out[f"vis3d/{p}/{n}/{seed}"] = s.cache_config
    for p in PRESETS["table3"]:
        for ds in ("mnist", "fashion-mnist"):
            specs = make_run_specs("table3", {"seed": 1}, OPERATORS_T3, preset_name=p, dataset=ds)
            out |= {f"table3/{p}/{ds}/{n}": s.cache_config for n, s in specs.items()}
    specs = make_run_specs("toy", {"seed": 3, "noise": 0.1}, TOY_KINDS, preset_name="paper")
    out |= {f"toy/{n}": s.cache_config for n, s in specs.items()}
    for p in SPHERENET_PRESETS:
        for ds in ("mnist", "fashion-mnist"):
            for r in plan_runs({"preset": p, "dataset": ds}, VARIANTS, [0, 1]):
                out[f"spherenet/{p}/{ds}/{r.name}"] = r.cache_config
    for p in PRESETS["vis3d"]:
        out |= {
            f"prototypes/{p}/{k}": cfg for k, (cfg, _) in plan_comparison({"preset": p, "seed": 2}).items()
        }
    for net, table in RETENTION_PRESETS.items():
        for p in table:
            for v in ("original", "spherized"):
                m, t = retention_model_config(net, v), retention_train_config(net, p, {"seed": 1})
                out[f"retention/{net}/{p}/{v}"] = retention_config_dict(m, t)
                out[f"retention/{net}/{p}/{v}/grad"] = retention_config_dict(m, t, None, 10)
    return out


def test_every_preset_keeps_its_cache_key():
    got = {name: digest(config) for name, config in all_configs().items()}
    assert sorted(got) == sorted(EXPECTED)
    changed = sorted(name for name in EXPECTED if got[name] != EXPECTED[name])
    assert not changed, f"{len(changed)} cache keys changed, e.g. {changed[:3]}"
