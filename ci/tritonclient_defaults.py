"""v2 inference through tritonclient's HTTP client with its defaults, against a running
`mlops serve` on the Iris model: inputs go as binary data (set_data_from_numpy's
default), and outputs come back as binary data (InferRequestedOutput's default, and the
request-wide binary_data_output tritonclient sets when no outputs are named).

Usage: python ci/tritonclient_defaults.py HOST:PORT
"""

import sys

import numpy as np
import tritonclient.http as httpclient

ROWS = [[5.1, 3.5, 1.4, 0.2], [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5]]
EXPECTED = [b"setosa", b"versicolor", b"virginica"]


def check(result, dtype_name):
    labels = list(result.as_numpy("label"))
    probabilities = result.as_numpy("probabilities")
    assert labels == EXPECTED, f"{dtype_name}: labels {labels}"
    assert probabilities.shape == (3, 3), f"{dtype_name}: shape {probabilities.shape}"
    assert probabilities.dtype == np.float64, f"{dtype_name}: dtype {probabilities.dtype}"
    assert np.allclose(probabilities.sum(axis=1), 1.0), f"{dtype_name}: {probabilities}"
    assert list(probabilities.argmax(axis=1)) == [0, 1, 2], f"{dtype_name}: {probabilities}"
    outputs = result.get_response()["outputs"]
    sizes = {o["name"]: o.get("parameters", {}).get("binary_data_size") for o in outputs}
    assert all(size for size in sizes.values()), f"{dtype_name}: not binary: {outputs}"
    assert all("data" not in o for o in outputs), f"{dtype_name}: JSON data too: {outputs}"


def main():
    client = httpclient.InferenceServerClient(sys.argv[1])
    assert client.is_server_live() and client.is_server_ready()
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    metadata = client.get_model_metadata("iris")
    version = metadata["versions"][0]
    assert client.is_model_ready("iris", version)
    for dtype_name, dtype in [("FP32", np.float32), ("FP64", np.float64)]:
        x = np.array(ROWS, dtype=dtype)
        tensor = httpclient.InferInput("input-0", list(x.shape), dtype_name)
        tensor.set_data_from_numpy(x)
        assert tensor._get_tensor()["parameters"]["binary_data_size"] == x.nbytes
        named = [
            httpclient.InferRequestedOutput("label"),
            httpclient.InferRequestedOutput("probabilities"),
        ]
        check(client.infer("iris", [tensor], outputs=named), dtype_name)
        check(client.infer("iris", [tensor]), dtype_name)
        check(client.infer("iris", [tensor], model_version=version), dtype_name)
    print("tritonclient defaults: binary inputs and outputs, FP32 and FP64, versioned: ok")


if __name__ == "__main__":
    main()
