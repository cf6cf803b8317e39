"""The Optuna RDB mirror adds each finished trial once, for optuna-dashboard."""

from types import SimpleNamespace

import optuna

from gcn_models.space import default_space
from tuning.callbacks import OptunaMirror


def test_mirror_adds_each_trial_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'mirror.db'}"
    space = default_space()
    arch = {k: v for k, v in space.sample(0).items() if v is not None}
    mirror = OptunaMirror(url, "s", space, "val_auc")
    trial = SimpleNamespace(trial_id="abc", config=arch, last_result={"val_auc": 0.8})
    mirror.on_trial_complete(1, [], trial)
    mirror.on_trial_complete(2, [], trial)  # a repeated callback must not add a second trial
    unfinished = SimpleNamespace(trial_id="def", config=arch, last_result={})
    mirror.on_trial_complete(3, [], unfinished)  # no metric: nothing to mirror
    study = optuna.load_study(study_name="s", storage=url)
    trials = study.get_trials()
    assert len(trials) == 1
    assert trials[0].value == 0.8 and trials[0].user_attrs["tune_trial_id"] == "abc"
    assert trials[0].params == arch
