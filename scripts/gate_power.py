"""Print the README's power table: the epochs `backbench gate` needs to catch a drop.

.venv/bin/python scripts/gate_power.py   # about a minute; seeded, so the same every time
"""

from backbench.report._power import PowerSetting, power_table

SIZES = (3, 10, 30, 60, 100)
SETTINGS = (PowerSetting(drop=5.0, max_drop=2.0), PowerSetting(drop=5.0, max_drop=0.0),
            PowerSetting(drop=10.0, max_drop=2.0))  # fmt: skip

if __name__ == "__main__":
    print(power_table(SIZES, SETTINGS))
