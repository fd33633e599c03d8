# The two commands of the README: `make run` and `make test`. Both set up whatever is missing first.
VENV ?= .venv
PYTEST_ARGS ?=

.PHONY: setup run test installer clean-venv

setup:
	@scripts/setup.sh

run: setup
	@$(VENV)/bin/field-app

test: setup
	@scripts/run-tests.sh $(PYTEST_ARGS)

installer: setup
	@scripts/build-installer.sh

clean-venv:
	rm -rf $(VENV)
