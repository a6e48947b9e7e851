# Two commands on a fresh machine: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := samples/alice-excerpt.txt
OUT := demo-out

.PHONY: demo test lint clean experiment

$(BIN)/onlinezip: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# Compress and decompress the bundled sample, print the MDL report, check the bytes.
demo: $(BIN)/onlinezip
	mkdir -p $(OUT)
	$(BIN)/onlinezip compress $(SAMPLE) -o $(OUT)/sample.oz --force -v --report $(OUT)/report.json
	$(BIN)/onlinezip decompress $(OUT)/sample.oz -o $(OUT)/sample.txt --force
	cmp $(SAMPLE) $(OUT)/sample.txt && echo "roundtrip OK: $(OUT)/sample.txt == $(SAMPLE)"

test: $(BIN)/onlinezip
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest -q

# Rae's experiment from a clone: the corpora are in corpora/, the reference codecs (PPMd)
# come with the bench extra. Runs every model (progress bars, time left), writes
# notebooks/results/crossover/ and re-executes the notebook, which rewrites
# notebooks/figures/. WORKERS=N runs N models at once (default: every usable core);
# EXPERIMENT=configs/experiments/smoke.toml RESULTS=/tmp/smoke runs the seconds-long one
# (its notebook and figures then go to /tmp/smoke too).
EXPERIMENT := configs/experiments/crossover.toml
RESULTS := notebooks/results/crossover
WORKERS ?= 0
ifeq ($(RESULTS),notebooks/results/crossover)  # the committed results: notebook in place
NB_OUT := $(abspath notebooks/rae_mdl.ipynb)
NB_FIGURES := $(abspath notebooks/figures)
else  # another run: its executed notebook and figures go beside its results
NB_OUT := $(abspath $(RESULTS))/rae_mdl.ipynb
NB_FIGURES := $(abspath $(RESULTS))/figures
endif

$(VENV)/.experiment: $(BIN)/onlinezip
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	touch $@

experiment: $(VENV)/.experiment
	$(BIN)/python -m onlinezip.experiment $(EXPERIMENT) --out $(RESULTS) -j $(WORKERS)
	cd notebooks && ONLINEZIP_RESULTS=$(abspath $(RESULTS)) ONLINEZIP_FIGURES=$(NB_FIGURES) \
		../$(BIN)/python execute.py --out $(NB_OUT)

clean:
	rm -rf $(VENV) $(OUT)
