"""The bad-request table of the local server's tests, shared by the gRPC (tests/serving/test_server.py) and the
REST (tests/serving/test_rest.py) tests: each row is a gRPC request, the status code TF Serving answers it with and
text its message must contain. The server under test serves `MODEL` with these small limits.
"""

import grpc
import tensorflow as tf
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2, model_pb2,
                                     predict_pb2, regression_pb2)

from serving import contract
from serving.client import SIGNATURE_DEF_FIELD
from tests.serving.support.exports import MODEL, string_tensor

MAX_REQUEST_BATCH = 8
MAX_TEXT_BYTES = 2000


def spec(name=MODEL, signature=None, version=None, label=None):
    model_spec = model_pb2.ModelSpec(name=name)
    if signature is not None:
        model_spec.signature_name = signature
    if version is not None:
        model_spec.version.value = version
    if label is not None:
        model_spec.version_label = label
    return model_spec


def predict(model_spec=None, **inputs):
    request = predict_pb2.PredictRequest(model_spec=model_spec or spec())
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(value)
    return request


def classify(model_spec=None, examples=()):
    model_spec = model_spec or spec(signature=contract.CLASSIFY_SIGNATURE)
    request = classification_pb2.ClassificationRequest(model_spec=model_spec)
    for example in examples:
        request.input.example_list.examples.add().ParseFromString(example)
    return request


def strings(*values):
    return string_tensor(list(values))


T, P = contract.TEXT_INPUT, contract.TEXT_PAIR_INPUT
INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
# (case, service ("predict" or "model"), method, request, status code, text the message must contain)
BAD_REQUESTS = [
    ("unknown model", "predict", "Predict", predict(spec("nope"), **{T: strings("x")}), NOT_FOUND,
     "Servable not found for request: Latest(nope)"),
    ("unknown version", "predict", "Predict", predict(spec(version=99), **{T: strings("x")}), NOT_FOUND,
     f"Servable not found for request: Specific({MODEL}, 99)"),
    ("unknown version label", "predict", "Predict", predict(spec(label="canary"), **{T: strings("x")}), INVALID,
     "Unrecognized servable version label: canary"),
    ("no model name", "predict", "Predict", predict(spec(""), **{T: strings("x")}), INVALID,
     "ModelSpec has no name specified."),
    ("unknown signature", "predict", "Predict", predict(spec(signature="nope"), **{T: strings("x")}),
     grpc.StatusCode.FAILED_PRECONDITION, 'Serving signature key "nope" not found.'),
    ("no input", "predict", "Predict", predict(), INVALID,
     "input size does not match signature: 0!=1 len({}) != len({text}). Sent extra: {}. Missing but required: {text}."),
    ("extra input", "predict", "Predict", predict(**{T: strings("x"), P: strings("y")}), INVALID,
     "input size does not match signature: 2!=1 len({text,text_pair}) != len({text}). Sent extra: {text_pair}. "
     "Missing but required: {}."),
    ("wrong input name", "predict", "Predict", predict(**{P: strings("x")}), INVALID,
     "input tensor alias not found in signature: text_pair. Inputs expected to be in the set {text}."),
    ("wrong dtype", "predict", "Predict", predict(**{T: tf.make_tensor_proto([1.0, 2.0], dtype=tf.float32)}), INVALID,
     "input 'text': expects DT_STRING, got DT_FLOAT"),
    ("wrong shape", "predict", "Predict", predict(**{T: string_tensor([["a"], ["b"]])}), INVALID,
     "input 'text': expects shape [None], got [2, 1]"),
    ("scalar", "predict", "Predict", predict(**{T: tf.make_tensor_proto(b"a", dtype=tf.string)}), INVALID,
     "expects shape [None], got []"),
    ("empty batch", "predict", "Predict", predict(**{T: tf.make_tensor_proto([], dtype=tf.string, shape=[0])}),
     INVALID, "empty batch"),
    ("oversized batch", "predict", "Predict", predict(**{T: strings(*["x"] * (MAX_REQUEST_BATCH + 1))}), INVALID,
     f"Task size {MAX_REQUEST_BATCH + 1} is larger than maximum input batch size {MAX_REQUEST_BATCH}"),
    ("oversized text", "predict", "Predict", predict(**{T: strings("ok", "x" * (MAX_TEXT_BYTES + 1))}), INVALID,
     f"input 'text' element 1: {MAX_TEXT_BYTES + 1} bytes, more than the server's limit of {MAX_TEXT_BYTES}"),
    ("unknown output filter", "predict", "Predict",
     predict_pb2.PredictRequest(model_spec=spec(), inputs={T: strings("x")}, output_filter=["logits"]), INVALID,
     "output tensor alias not found in signature: logits"),
    ("not tf.Examples", "predict", "Predict",
     predict(spec(signature=contract.EXAMPLES_SIGNATURE), **{contract.EXAMPLES_INPUT: strings("not a proto")}),
     INVALID, "Could not parse example input"),
    ("classify: unknown signature", "predict", "Classify", classify(spec(signature="nope"), [b""]), INVALID,
     "No signature was found with the name: nope"),
    ("classify: a predict signature", "predict", "Classify", classify(spec(), [b""]), INVALID,
     "Expected classification signature method_name to be tensorflow/serving/classify. "
     "Was: tensorflow/serving/predict"),
    ("classify: no examples", "predict", "Classify", classify(), INVALID, "Input is empty."),
    ("metadata: no model spec", "predict", "GetModelMetadata",
     get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=[SIGNATURE_DEF_FIELD]), INVALID, "Missing ModelSpec"),
    ("metadata: no field", "predict", "GetModelMetadata", get_model_metadata_pb2.GetModelMetadataRequest(
        model_spec=spec()), INVALID, "GetModelMetadataRequest must specify at least one metadata_field"),
    ("metadata: unknown field", "predict", "GetModelMetadata", get_model_metadata_pb2.GetModelMetadataRequest(
        model_spec=spec(), metadata_field=["labels"]), INVALID, "Metadata field labels is not supported"),
    ("status: unknown model", "model", "GetModelStatus", get_model_status_pb2.GetModelStatusRequest(
        model_spec=spec("nope")), NOT_FOUND, "Could not find any versions of model nope"),
    ("status: unknown version", "model", "GetModelStatus", get_model_status_pb2.GetModelStatusRequest(
        model_spec=spec(version=99)), NOT_FOUND, f"Could not find version 99 of model {MODEL}"),
    ("regress", "predict", "Regress", regression_pb2.RegressionRequest(model_spec=spec()),
     grpc.StatusCode.UNIMPLEMENTED, "no regression signature"),
]
