# flashd: the two commands a new user needs are `make demo` and `make test`.
SWIFT ?= swift

.PHONY: all build release demo test deps clean

all: build

deps:
	scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --static-swift-stdlib --disable-local-rpath --scratch-path .build-release

## The seed's flash-sale scenario against a private Redis and flashd.
demo:
	scripts/demo.sh

## Every test: unit, store-level against a real redis-server, end to end with the real binaries.
test:
	scripts/test.sh

clean:
	rm -rf .build .build-release
