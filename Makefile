# Two commands on a fresh machine: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := samples/alice-excerpt.txt
OUT := demo-out

.PHONY: demo test lint clean

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

clean:
	rm -rf $(VENV) $(OUT)
