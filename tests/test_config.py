import copy

import pytest

from analysis.config import (ConfigError, check_config, load_config, load_schema,
                             schema_properties_without_description, validate_config)


@pytest.fixture(scope="module")
def cfg():
    return load_config()


def test_default_config_is_valid_and_holds_sap_defaults(cfg):
    assert cfg["dose_levels"] == {"DL1": 1.5e7, "DL2": 3e7, "DL3": 5e7, "DL4": 7e7}
    assert cfg["escalation"]["titration_levels"] == ["DL1"]
    assert cfg["dlt_window"]["days_after_first_car_t"] == 28
    assert cfg["teae_window_days"] == 90
    assert cfg["response"] == {"confirm_min_days": 28, "sd_min_days": 42,
                               "missed_assessments_window_days": 112}
    assert cfg["subgroups"]["nkg2dl_high_hscore"] == 100
    assert cfg["subgroups"]["glr_cutoff"] == 3
    assert cfg["reference_start"] == "first_car_nk"


def test_every_schema_property_is_described():
    assert schema_properties_without_description(load_schema()) == []


def test_wrong_settings_are_all_reported_with_key_and_allowed_values(cfg):
    bad = copy.deepcopy(cfg)
    bad["data"]["source"] = "sas"
    bad["teae_windw_days"] = 90
    bad["reports"]["formats"] = ["html", "pptx"]
    problems = check_config(bad)
    text = "\n".join(problems)
    assert len(problems) == 3
    assert "'data.source' = 'sas'" in text and "'demo', 'export'" in text
    assert "unknown setting 'teae_windw_days'" in text and "teae_window_days" in text
    assert "'reports.formats.1' = 'pptx'" in text and "'html', 'pdf', 'docx'" in text


def test_semantic_checks(cfg):
    bad = copy.deepcopy(cfg)
    bad["data_cut"] = "2026-02-30"
    bad["escalation"]["rp2d"] = "DL7"
    bad["escalation"]["titration_levels"] = ["DL0"]
    bad["dose_levels"] = {"DL1": 3e7, "DL2": 1.5e7}
    text = "\n".join(check_config(bad))
    assert "'data_cut' = '2026-02-30' is not a calendar date" in text
    assert "'escalation.rp2d' = 'DL7'" in text
    assert "'DL0'" in text
    assert "must increase" in text


def test_validate_raises_with_message(cfg):
    bad = copy.deepcopy(cfg)
    bad["dlt_window"]["days_after_first_car_t"] = 0
    with pytest.raises(ConfigError, match=r"dlt_window.days_after_first_car_t"):
        validate_config(bad)
