# tinybench: set-up, tests and the demo. `make demo` and `make test` each do all the set-up a fresh
# machine needs (a virtualenv in .venv with every extra, and the Debian packages for the firmware).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BOARD  ?= host
MODEL  ?=

export TF_CPP_MIN_LOG_LEVEL ?= 3
export TF_ENABLE_ONEDNN_OPTS ?= 0

.PHONY: install test demo firmware flash clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/system-deps.sh
	./scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	# The legacy Keras-2 SavedModel of kws01 loads only through tf_keras, whose own requirements
	# would pull the full tensorflow wheel beside tensorflow-cpu: install it alone.
	$(BIN)/pip install --quiet --no-deps tf-keras==2.21.0
	touch $(STAMP)

test: install
	$(BIN)/pytest -q

demo: install
	$(BIN)/tinybench suite --synthetic --emulate host

firmware: install
	$(MAKE) -C firmware BOARD=$(BOARD) MODEL=$(MODEL)

flash: install
	$(MAKE) -C firmware flash BOARD=$(BOARD) MODEL=$(MODEL)

clean:
	rm -rf $(VENV) build firmware/build firmware/generated .pytest_cache
