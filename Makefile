# One command sets up .venv (MXNet CPU wheel) and runs a job: `make demo`, `make test`.
# `make demo` trains InI-ResNet-8 (mix-5-d) on scikit-learn's bundled digits, offline, on the CPU.
# The installed packages are byte-compiled by compileall on every core rather than by pip one
# file after another (the same .pyc files, sooner).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS ?= cpu,test

.PHONY: setup demo test fidelity clean

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-compile -e '.[$(EXTRAS)]'
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib
	touch $@

setup: $(VENV)/.installed

# The same command again continues the demo where it stopped (a checkpoint every epoch) and, once
# it has finished, says so and writes its files again as they were, in seconds; a folder that
# holds another run is refused in one line and left as it is.  make demo DEMO_RUN=--overwrite
# trains the demo again from scratch.
DEMO_RUN ?= --resume auto

demo: $(VENV)/.installed
	$(BIN)/python train_cifar.py --dataset digits --model ini_resnet8_mix5d --save-dir runs/digits --save-period 1 $(DEMO_RUN)

# The suite's processes (two workers, and the training runs, kvstore nodes and commands the tests
# start) write the byte code of what they import, as Python does by default, even where the
# environment says not to (PYTHONDONTWRITEBYTECODE): each then loads the project and the tests
# compiled instead of compiling them again, 0.3 s of each process's start.
test: $(VENV)/.installed
	$(BIN)/ruff check .
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n 2 tests

fidelity: $(VENV)/.installed
	$(BIN)/python -m ini_gluon.tables > docs/fidelity.md

clean:
	rm -rf $(VENV) *.egg-info
