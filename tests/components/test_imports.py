"""What the components' light modules import: Beam workers and config-time callers must not pay for TFX's
component machinery (nor, where the module says so, for TensorFlow). Each case runs in a fresh interpreter."""

import subprocess
import sys

import pytest

from tests.support import REPO_ROOT

TFX_MACHINERY = ("tfx.types", "tfx.dsl", "tfx.components", "tfx.orchestration")


@pytest.mark.parametrize("imports, forbidden", [
    # A PretrainingDataGen worker: numpy, sentencepiece, Beam, text_contract.
    (["components.pretraining_data.beam_pipeline"], ("tensorflow",) + TFX_MACHINERY),
    # SentencePieceVocab and TextExampleGen workers (they parse tf.Examples with TensorFlow's proto).
    (["components.sentencepiece_vocab.beam_pipeline", "components.text_example_gen.beam_pipeline"], TFX_MACHINERY),
    # Options the pipeline builds at config time, through the packages' lazy exports.
    (["components.serving_pusher:ServingPushOptions", "components.text_example_gen:TextOptions"],
     ("tensorflow",) + TFX_MACHINERY),
])
def test_light_modules_stay_light(imports, forbidden):
    script = (
        "import importlib, sys\n"
        f"for target in {imports!r}:\n"
        "    module, _, name = target.partition(':')\n"
        "    loaded = importlib.import_module(module)\n"
        "    if name:\n"
        "        getattr(loaded, name)\n"
        f"print(sorted({{m for m in sys.modules if m.startswith({forbidden!r})}}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout
