# maskwatch developer commands. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_OUT ?= demo-output

.PHONY: setup setup-train demo console test faults lint format bench evaluate train ship-model clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.base-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev,demo,eval]"
	touch $@

$(VENV)/.train-installed: pyproject.toml $(VENV)/.base-installed
	$(BIN)/pip install --quiet -e ".[dev,demo,eval,train]"
	touch $@

## setup: virtualenv with maskwatch, its demo and developer tools
setup: $(VENV)/.base-installed

## setup-train: also TensorFlow, for training and the full test suite
setup-train: $(VENV)/.train-installed

## demo: render demo scenes and run the detector + classifier on them
demo: setup
	$(BIN)/maskwatch demo --config configs/demo.yaml

## console: the review console on the demo's data (after `make demo`), with a one-time demo login
console: setup
	$(BIN)/maskwatch db upgrade --config configs/demo.yaml
	$(BIN)/maskwatch serve --config configs/demo.yaml --demo-user

## test: the whole test suite (real inference on ../shared where present, a short training run)
test: setup-train
	$(BIN)/pytest $(PYTEST_ARGS)

## faults: the fault suite alone (kills, freezes and stops real servers and stages), with its table
faults: setup
	$(BIN)/pytest -m faults tests/faults $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: single-core speeds (classifier per face, detect per 1280x720 frame), then the whole
## pipeline with 4 RTSP cameras on loopback (about 2 minutes in all; see `maskwatch bench --help`)
YUNET := ../shared/weights/face_detection_yunet_2023mar.onnx
bench: setup
	OMP_NUM_THREADS=1 $(BIN)/maskwatch bench --detector-model $(YUNET)
	$(BIN)/maskwatch bench --cameras 4 --duration 20 --warmup 15 --sample-fps 1 --out runs/bench/pipeline.json

## evaluate: scene-level metrics on the ILC test split (needs ../shared)
evaluate: setup
	$(BIN)/maskwatch evaluate --voc ../shared/datasets/scenes-ilc2021 --split ../shared/datasets/scenes-ilc2021/test.txt --out runs/evaluate

## train: reproduce the shipped classifier (needs ../shared; about an hour on 2 cores)
train: setup-train
	$(BIN)/maskwatch train --config configs/train.yaml

## ship-model: make the last training run the shipped model (TFLite file, card, metrics, plots)
ship-model:
	cp runs/train/mask_classifier.tflite runs/train/MODEL_CARD.md runs/train/metrics.json \
	   runs/train/confusion_matrix.png runs/train/training_curves.png inference/models/

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
