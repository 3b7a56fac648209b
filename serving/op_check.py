"""Does TF Serving have every op an export uses? Checked before a push, so a model that cannot load is refused.

An export's ops are the node op types of every MetaGraph's graph and of every function in its function
library (a tf.function's body, the Transform graph, control flow branches, nested functions); a node whose
op names a library function is a call, and the callee is walked as a function of its own.

What the server provides: we deploy `serving.deploy.TF_SERVING_IMAGE` (TF Serving 2.16.1), which is
 - TensorFlow 2.16's core ops. Derived at check time from the op registry of the installed TensorFlow (the
   same release; `setup.py` pins 2.16), read in a fresh interpreter that imports nothing but TensorFlow, so
   ops that tensorflow_text or any other extension registered in this process do not count as core;
 - minus `PYTHON_ONLY_OPS`: registered by TF's core op library, but their kernels call back into the Python
   interpreter (`tf.py_function`, `tf.numpy_function`), which the C++ model server does not have;
 - plus `TF_TEXT_OPS`, the tf-text ops the model server links (below).
TF Serving also links TensorFlow Decision Forests' inference ops; albert-tfx never uses them, so they are
left out (a stricter check).
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import os
import subprocess
import sys
from typing import Dict, FrozenSet, Iterable, List, Mapping, Set, Tuple

from serving import contract
from serving.deploy import TF_SERVING_IMAGE

# The tf-text ops in TF Serving's model server. tensorflow_serving/model_servers/BUILD links
# `@org_tensorflow_text//tensorflow_text:ops_lib` into the server (SUPPORTED_TENSORFLOW_OPS; the answer to
# tensorflow/serving#1490), and tensorflow_serving/workspace.bzl pins tensorflow/text at the release that
# matches the server's. `ops_lib` bundles every tf-text kernel library (tensorflow_text/BUILD), so the list is
# the ops that tensorflow-text 2.16.1 registers: tests/serving/test_op_check.py checks it against the installed
# tensorflow_text's registry both ways, so an upgrade that changes it fails there, not in production.
TF_TEXT_OPS: FrozenSet[str] = frozenset({
    # SentencePiece (tensorflow_text/core/ops/sentencepiece_ops.cc, fast_sentencepiece_ops.cc): what our
    # Transform graph runs.
    "SentencepieceOp", "SentencepieceTokenizeOp", "SentencepieceTokenizeWithOffsetsOp",
    "SentencepieceDetokenizeOp", "SentencepieceVocabSizeOp", "SentencepieceIdToStringOp",
    "SentencepieceStringToIdOp", "TFText>FastSentencepieceTokenize", "TFText>FastSentencepieceDetokenize",
    # Normalization (normalize_ops.cc, fast_bert_normalizer_op.cc).
    "CaseFoldUTF8", "NormalizeUTF8", "NormalizeUTF8WithOffsetsMap", "FindSourceOffsets", "FastBertNormalize",
    # Splitting and tokenizers.
    "RegexSplitWithOffsets", "WhitespaceTokenizeWithOffsets", "TFText>WhitespaceTokenizeWithOffsetsV2",
    "UnicodeScriptTokenizeWithOffsets", "WordpieceTokenizeWithOffsets", "FastWordpieceTokenizeWithOffsets",
    "TFText>FastWordpieceDetokenize", "SplitMergeTokenizeWithOffsets", "TokenizerFromLogits", "PhraseTokenize",
    "TFText>PhraseDetokenize", "TFText>ByteSplitWithOffsets", "TFText>ByteSplitByOffsets",
    # Sentence breaking, n-grams, trimming, tagging, decoding, metrics, binarization.
    "SentenceFragments", "SentenceFragmentsV2", "TFText>NgramsStringJoin", "TFText>RoundRobinGenerateMasks",
    "TFText>RoundRobinTrim", "TFText>BoiseTagsToOffsets", "TFText>OffsetsToBoiseTags", "ConstrainedSequence",
    "MaxSpanningTree", "RougeL", "TFText>Utf8Binarize",
})

# Op definitions in TensorFlow's core library (tensorflow/core/ops/script_ops.cc) whose kernels exist only in
# the Python runtime (tensorflow/python/lib/core/py_func.cc): they load in TF Serving and fail on every call.
PYTHON_ONLY_OPS: FrozenSet[str] = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})

GRAPH = "<graph>"  # how the report names a MetaGraph's top-level graph among the functions

# Runs in a fresh interpreter: the op registry of TensorFlow alone. The C API's op list is the only complete
# registry view (tf.raw_ops lacks ops without Python wrappers).
_CORE_REGISTRY_SCRIPT = """
import json
from tensorflow.core.framework import op_def_pb2
from tensorflow.python.client import pywrap_tf_session as c_api
buffer = c_api.TF_GetAllOpList()
try:
    ops = op_def_pb2.OpList.FromString(c_api.TF_GetBuffer(buffer))
finally:
    c_api.TF_DeleteBuffer(buffer)
print(json.dumps(sorted(op.name for op in ops.op)))
"""


class UnsupportedOpsError(ValueError):
    """The export uses ops the TF Serving release we deploy does not provide (`report` says which, and where)."""

    def __init__(self, report: "OpReport"):
        self.report = report
        super().__init__(report.describe_unsupported())


@dataclasses.dataclass(frozen=True)
class OpReport:
    """The ops an export uses and which of them the server lacks.

    `ops`: op type -> the functions (or `GRAPH`) whose nodes use it. `unsupported`: the same for the ops
    TF Serving does not provide. `signatures`: unsupported op -> the signature keys whose call tree reaches it
    (empty when only functions outside the signatures use it, e.g. a restore function).
    """

    export_dir: str
    server: str
    ops: Mapping[str, Tuple[str, ...]]
    unsupported: Mapping[str, Tuple[str, ...]]
    signatures: Mapping[str, Tuple[str, ...]]

    @property
    def ok(self) -> bool:
        return not self.unsupported

    def describe_unsupported(self) -> str:
        if self.ok:
            return f"{self.export_dir}: all {len(self.ops)} op types are in {self.server}"
        lines = [f"{self.export_dir} uses {len(self.unsupported)} op type(s) that {self.server} does not provide:"]
        for op, users in sorted(self.unsupported.items()):
            reached = self.signatures.get(op) or ()
            where = f"; reached from signature(s) {', '.join(reached)}" if reached else ""
            lines.append(f"  {op}: used by {', '.join(users[:5])}{' ...' if len(users) > 5 else ''}{where}")
        return "\n".join(lines)


def _read_saved_model(export_dir: str):
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(export_dir, contract.SAVED_MODEL_FILE)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{export_dir}: no {contract.SAVED_MODEL_FILE}; not a SavedModel")
    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(path, "rb") as handle:
        proto.ParseFromString(handle.read())
    return proto


def _called_functions(node, function_names: Set[str]) -> Iterable[str]:
    """The library functions a node calls: as its op (a direct call) or through function-valued attrs."""
    if node.op in function_names:
        yield node.op
    for value in node.attr.values():
        if value.HasField("func"):
            yield value.func.name
        elif value.HasField("list"):
            for func in value.list.func:
                yield func.name


def _signature_roots(meta_graph) -> Dict[str, Set[str]]:
    """signature key -> the functions its output tensors come from (through the graph's call nodes)."""
    nodes = {node.name: node for node in meta_graph.graph_def.node}
    function_names = {f.signature.name for f in meta_graph.graph_def.library.function}
    roots = {}
    for key, signature in meta_graph.signature_def.items():
        called = set()
        for tensor in signature.outputs.values():
            node = nodes.get(tensor.name.split(":")[0].lstrip("^"))
            if node is not None:
                called.update(_called_functions(node, function_names))
        roots[key] = called
    return roots


def ops_in_saved_model(export_dir: str) -> Tuple[Dict[str, Set[str]], Dict[str, Set[str]]]:
    """`(op -> users, signature -> ops reachable from it)` over every MetaGraph of `export_dir`."""
    users: Dict[str, Set[str]] = collections.defaultdict(set)
    reachable: Dict[str, Set[str]] = collections.defaultdict(set)
    for meta_graph in _read_saved_model(export_dir).meta_graphs:
        library = {f.signature.name: f for f in meta_graph.graph_def.library.function}
        function_names = set(library)
        for node in meta_graph.graph_def.node:
            if node.op not in function_names:
                users[node.op].add(GRAPH)
        function_ops: Dict[str, Set[str]] = {}
        callees: Dict[str, Set[str]] = {}
        for name, function in library.items():
            function_ops[name] = {n.op for n in function.node_def if n.op not in function_names}
            callees[name] = {c for n in function.node_def for c in _called_functions(n, function_names)}
            for op in function_ops[name]:
                users[op].add(name)
        for key, roots in _signature_roots(meta_graph).items():
            seen, stack = set(), [r for r in roots if r in library]
            while stack:  # every function the signature can call, however deeply nested
                name = stack.pop()
                if name not in seen:
                    seen.add(name)
                    stack.extend(callees[name] - seen)
            for name in seen:
                reachable[key].update(function_ops[name])
    return dict(users), dict(reachable)


@functools.lru_cache(maxsize=None)
def core_tensorflow_ops() -> FrozenSet[str]:
    """Every op TensorFlow itself registers (no extension's), from a fresh interpreter's op registry."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", _CORE_REGISTRY_SCRIPT], capture_output=True,
                            text=True, timeout=600, env=environment)
    if result.returncode != 0:
        raise RuntimeError(f"could not read TensorFlow's op registry in a subprocess:\n{result.stderr[-2000:]}")
    return frozenset(json.loads(result.stdout.strip().splitlines()[-1]))


def served_ops() -> FrozenSet[str]:
    """The op types the TF Serving release we deploy provides."""
    return (core_tensorflow_ops() - PYTHON_ONLY_OPS) | TF_TEXT_OPS


def check_ops(export_dir: str) -> OpReport:
    """The `OpReport` of `export_dir` against the TF Serving release we deploy (never raises for bad ops)."""
    export_dir = os.fspath(export_dir)
    users, reachable = ops_in_saved_model(export_dir)
    available = served_ops()
    unsupported = {op: tuple(sorted(users[op])) for op in sorted(set(users) - available)}
    signatures = {op: tuple(sorted(key for key, ops in reachable.items() if op in ops)) for op in unsupported}
    return OpReport(export_dir=export_dir, server=TF_SERVING_IMAGE,
                    ops={op: tuple(sorted(where)) for op, where in sorted(users.items())},
                    unsupported=unsupported, signatures=signatures)


def check_export_ops(export_dir: str) -> OpReport:
    """`check_ops`, raising `UnsupportedOpsError` (naming each op and its users) when the server lacks any."""
    report = check_ops(export_dir)
    if not report.ok:
        raise UnsupportedOpsError(report)
    return report


def main(argv: List[str]) -> int:
    """`python -m serving.op_check EXPORT_DIR`: prints the report; exit status 1 when ops are missing."""
    if len(argv) != 1:
        print("usage: python -m serving.op_check EXPORT_DIR", file=sys.stderr)
        return 2
    report = check_ops(argv[0])
    print(f"{len(report.ops)} op types: {', '.join(report.ops)}")
    print(report.describe_unsupported())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
