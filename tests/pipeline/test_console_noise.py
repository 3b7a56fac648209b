"""The local runner drops TFX's warnings that say nothing about a run (pipeline/local_runner.py: _quiet_tfx) and
keeps every other warning. The calls below are TFX's own: on an object store they log about 300 lines per
component."""

import logging

from tfx.orchestration.portable import outputs_utils

from pipeline import local_runner


def test_tfx_clean_up_warnings_are_dropped_and_other_warnings_kept(tmp_path, caplog):
    local_runner._quiet_tfx()
    local_runner._quiet_tfx()  # once per run: the filter is not stacked
    absl_logger = logging.getLogger("absl")
    assert sum(isinstance(f, local_runner._DropTfxNoise) for f in absl_logger.filters) == 1
    caplog.set_level(logging.INFO)
    missing = str(tmp_path / "gone")
    outputs_utils.remove_stateful_working_dir(missing)  # TFX: "stateful_working_dir ... is not found"
    absl_logger.warning("ArtifactQuery.property_predicate is not supported.")
    absl_logger.warning("execution_info.tmp_dir %s is not found, it is likely ... %s", missing, "<proto>")
    absl_logger.warning("Trainer failed: %s", "out of memory")
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ["Trainer failed: out of memory"], messages
