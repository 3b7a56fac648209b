"""albert-tfx: ALBERT pretraining, fine-tuning and serving as a TFX pipeline."""

from setuptools import find_packages, setup

setup(
    name="albert-tfx",
    version="0.2.0",
    description="A production TFX/Keras stack that pretrains, fine-tunes and serves ALBERT text models.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    # TFX 1.16 supports CPython 3.9-3.10 only; we build and test on 3.10.
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=["text_contract*", "trainer*", "serving*", "pipeline*", "components*",
                                    "albert_tfx*"]),
    package_data={"serving": ["deploy/*.config", "deploy/*.yml", "deploy/*.yaml", "deploy/k8s/*.yaml", "deploy/README.md"]},
    install_requires=[
        "tfx>=1.16,<1.17",
        "tensorflow>=2.16,<2.17",
        "tensorflow-text>=2.16,<2.17",
        "tensorflow-transform>=1.16,<1.17",
        "tensorflow-serving-api>=2.16,<2.17",
        "apache-beam[gcp]>=2.61,<2.62",
        "keras>=3.5,<3.13",
        "keras-hub>=0.25,<0.26",
        "keras-nlp>=0.25,<0.26",
        "sentencepiece>=0.2,<0.3",
        "safetensors>=0.4,<0.9",
        "numpy>=1.26,<2",
        "PyYAML>=6,<7",
        "kfp>=2.5,<2.6",
        "aiohttp>=3.9,<4",  # the REST API of `albert-tfx serve` (serving/rest.py)
        "prometheus-client>=0.20,<1",  # its metrics (serving/metrics.py)
        "psutil>=7,<8",  # ending a run's child processes on SIGINT/SIGTERM (pipeline/interrupts.py)
    ],
    extras_require={
        "airflow": ["apache-airflow>=2.10,<3"],
        # s3:// paths: tensorflow-io's S3 file system for tf.io.gfile, boto3 for Beam's (apache-beam[aws]).
        "s3": ["tensorflow-io>=0.37,<0.38", "boto3>=1.34,<2"],
        # moto's S3 server: the remote-storage test's object store (tests/pipeline/test_remote_storage.py).
        "test": ["pytest>=8,<10", "pytest-xdist>=3.6,<4", "ruff>=0.17,<0.18", "moto[s3]>=5,<6", "flask-cors>=4,<7"],
    },
    entry_points={"console_scripts": ["albert-tfx=albert_tfx.cli:console_main"]},
)
