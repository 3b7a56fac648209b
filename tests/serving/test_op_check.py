"""The op check: our export passes; ops TF Serving lacks (Python-only kernels, unknown ops, deep in nested
functions) are refused by name; the tf-text op list matches what tensorflow-text registers."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registered in this process: must still not count as core ops)

from serving import op_check
from serving.deploy import TF_SERVING_IMAGE
from tests.serving.support.exports import MADE_UP_OP, replace_op_type, tiny_export

class _Nested(tf.Module):
    """serving_default -> outer -> inner (a nested tf.function); `plain` calls neither."""

    @tf.function
    def inner(self, x):
        return tf.sin(x) * 2.0

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def outer(self, x):
        return {"y": self.inner(x) + 1.0}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def plain(self, x):
        return {"y": x - 1.0}



class _WithPython(_Nested):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def python(self, x):
        return {"y": tf.py_function(lambda v: v * 2.0, [x], tf.float32)}


def _save(directory, signatures, module_class=_Nested):
    module = module_class()
    tf.saved_model.save(module, str(directory), signatures={
        key: getattr(module, name).get_concrete_function() for key, name in signatures.items()})
    return str(directory)


def test_our_export_uses_only_ops_tf_serving_provides():
    export_dir = tiny_export()
    report = op_check.check_export_ops(export_dir)
    assert report.ok and report.unsupported == {} and report.server == TF_SERVING_IMAGE
    # The SentencePiece ops of the Transform graph and the encoder's math live in (nested) library functions,
    # not in the top-level graph: the check found them there.
    assert {"SentencepieceOp", "SentencepieceTokenizeOp"} <= set(report.ops)
    assert all(op_check.GRAPH not in report.ops[op] for op in ("SentencepieceTokenizeOp", "Softmax", "Einsum"))
    assert op_check.GRAPH in report.ops["Placeholder"]  # the signatures' inputs are top-level graph nodes
    assert "StatefulPartitionedCall" in report.ops  # calls are ops too; the functions they call are walked
    assert not any(name.startswith("__inference") for name in report.ops)


def test_a_py_function_is_refused_naming_the_op_and_the_signature(tmp_path):
    export_dir = _save(tmp_path / "model", {"serving_default": "python", "plain": "plain"}, _WithPython)
    with pytest.raises(op_check.UnsupportedOpsError) as caught:
        op_check.check_export_ops(export_dir)
    message = str(caught.value)
    assert "EagerPyFunc" in message and TF_SERVING_IMAGE in message and "serving_default" in message
    assert "plain" not in message
    report = caught.value.report
    assert list(report.unsupported) == ["EagerPyFunc"] and report.signatures["EagerPyFunc"] == ("serving_default",)
    assert "EagerPyFunc" in op_check.core_tensorflow_ops()  # its definition is core TF; its kernel is Python's


def test_a_made_up_op_in_a_nested_function_is_refused_with_its_function(tmp_path):
    export_dir = _save(tmp_path / "model", {"serving_default": "outer", "plain": "plain"})
    assert op_check.check_export_ops(export_dir).ok
    changed = replace_op_type(export_dir, "Sin", MADE_UP_OP)
    assert changed and all("inner" in name for name in changed)  # inner's traces, not outer's
    report = op_check.check_ops(export_dir)
    assert not report.ok
    assert report.unsupported == {MADE_UP_OP: tuple(changed)}
    # serving_default reaches it through outer -> inner; `plain` does not.
    assert report.signatures[MADE_UP_OP] == ("serving_default",)
    with pytest.raises(op_check.UnsupportedOpsError, match=f"{MADE_UP_OP}: used by {changed[0]}"):
        op_check.check_export_ops(export_dir)


def test_a_tf_text_op_unknown_to_tf_serving_would_be_refused(tmp_path, monkeypatch):
    """The tf-text ops count only through the list: drop SentencepieceOp from it and our export fails."""
    export_dir = str(tmp_path / "export")
    shutil.copytree(tiny_export(), export_dir)
    monkeypatch.setattr(op_check, "TF_TEXT_OPS", op_check.TF_TEXT_OPS - {"SentencepieceOp"})
    with pytest.raises(op_check.UnsupportedOpsError, match="SentencepieceOp"):
        op_check.check_export_ops(export_dir)


def test_core_ops_come_from_tensorflow_alone():
    core = op_check.core_tensorflow_ops()
    assert {"MatMul", "StatefulPartitionedCall", "ParseExampleV2", "PyFunc"} <= core
    # tensorflow_text is imported in this process, yet none of its ops counts as core.
    assert tf.raw_ops.MatMul and "SentencepieceOp" not in core and not core & op_check.TF_TEXT_OPS
    served = op_check.served_ops()
    assert not served & op_check.PYTHON_ONLY_OPS and op_check.TF_TEXT_OPS <= served


def test_the_tf_text_list_is_what_tensorflow_text_registers():
    """Both ways, against the installed tensorflow-text (the release TF Serving 2.16 links)."""
    script = (
        "import json\n"
        "from tensorflow.core.framework import op_def_pb2\n"
        "from tensorflow.python.client import pywrap_tf_session as c\n"
        "def ops():\n"
        "    b = c.TF_GetAllOpList()\n"
        "    names = {o.name for o in op_def_pb2.OpList.FromString(c.TF_GetBuffer(b)).op}\n"
        "    c.TF_DeleteBuffer(b)\n"
        "    return names\n"
        "before = ops()\n"
        "import tensorflow_text\n"
        "print(json.dumps(sorted(ops() - before)))\n")
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True,
                            timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, check=True)
    registered = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert registered == set(op_check.TF_TEXT_OPS)


def test_a_directory_without_a_saved_model_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="saved_model.pb"):
        op_check.check_ops(str(tmp_path))


def test_the_command_line_exits_non_zero_and_names_the_op(tmp_path, capsys):
    export_dir = _save(tmp_path / "model", {"serving_default": "python"}, _WithPython)
    assert op_check.main([export_dir]) == 1
    assert "EagerPyFunc" in capsys.readouterr().out
    assert op_check.main([tiny_export()]) == 0
