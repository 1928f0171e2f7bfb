# The two commands (see README.md). Each installs what it needs first.
.PHONY: run test build bundle-size bench bench-auth

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

build:
	bash scripts/build.sh

bundle-size:
	bash scripts/bundle-size.sh

bench:
	bash scripts/bench.sh

bench-auth:
	bash scripts/bench.sh auth_api
