"""Install the blg561 package in development mode, from this folder:

    pip install -e .

(or run the tests without installing: `pytest` from this folder or the one above it).
"""

from setuptools import find_packages, setup

setup(
    name="blg561",
    version="0.3.0",
    description="BLG561E Deep Learning, Assignment 3: RNN, LSTM and GRU layers in numpy",
    packages=find_packages(include=["blg561", "blg561.*"]),
    python_requires=">=3.8",
    install_requires=["numpy"],
)
