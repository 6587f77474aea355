# flashd: a new user needs `make demo` and `make test` (or scripts/demo.sh, scripts/test.sh).
SWIFT ?= swift

.PHONY: all build demo test deb man system-test lint-deb torture fuzz bench clean cluster-demo

ROUNDS ?= 200

all: build

build:
	scripts/install-deps.sh
	$(SWIFT) build

## The seed's flash-sale scenario against a private Redis and flashd.
demo:
	scripts/demo.sh

## Every test: unit, store-level against a real redis-server, end to end with the real binaries.
test:
	scripts/test.sh

## out/flashd_<version>_amd64.deb; the last line printed is its path.
deb:
	@packaging/build-deb.sh

## lintian on the .deb: fails on any error or warning.
lint-deb:
	packaging/lint-deb.sh

## Regenerate the man pages (after changing a setting, a flag or help text): flashd(1) from
## its settings table, flashsalectl(1) from its argument parser.
man:
	$(SWIFT) build --product flashd
	.build/debug/flashd --print-man-page "$$(LC_ALL=C date '+%B %-d, %Y')" > packaging/man/flashd.1
	.build/debug/flashd --print-conf-man-page "$$(LC_ALL=C date '+%B %-d, %Y')" > packaging/man/flashd.conf.5
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --configuration debug --authors "flashd maintainers"
	# The generated page has no ENVIRONMENT, FILES, EXAMPLES or SEE ALSO: they go before AUTHORS.
	awk '/^\.Sh AUTHORS/ { while ((getline l < "packaging/man/flashsalectl-sections.mdoc") > 0) print l } { print }' \
	  .build/plugins/GenerateManual/outputs/flashsalectl/flashsalectl.1 > packaging/man/flashsalectl.1

## Two flashd nodes on a Sentinel-watched Redis primary with two replicas, the primary killed mid-sale.
cluster-demo:
	scripts/cluster-demo.sh

## Randomized kill -9 / Redis-kill rounds against the release binaries: `make torture ROUNDS=N`;
## then three nodes on one Redis (NODE_ROUNDS), then three nodes on a Sentinel-watched primary
## with two replicas whose primary is killed (FAILOVER_ROUNDS), then power cuts (POWER_ROUNDS:
## the journal rolled back to its last syncs; again with Redis losing its last writes, which the
## fence must stop and a repair restore; the self-check that sqlite-sync normal loses
## acknowledged orders under the same cuts; and the full-disk test on the release binaries),
## then checkout holds confirmed, cancelled and run out from any node under the same faults, on
## one node and on three (HOLD_ROUNDS each), then three nodes with holds delivering into one
## PostgreSQL crashed every other round (DELIVERY_ROUNDS). 0 skips a part.
NODE_ROUNDS ?= 100
FAILOVER_ROUNDS ?= 40
POWER_ROUNDS ?= 100
HOLD_ROUNDS ?= 100
DELIVERY_ROUNDS ?= 100
torture:
	scripts/install-deps.sh
	BIN=$$(scripts/build-release.sh) && "$$BIN/flashd-torture" --rounds $(ROUNDS) \
	  && if [ "$(NODE_ROUNDS)" -gt 0 ]; then "$$BIN/flashd-torture" --rounds $(NODE_ROUNDS) --nodes 3; fi \
	  && if [ "$(FAILOVER_ROUNDS)" -gt 0 ]; then "$$BIN/flashd-torture" --rounds $(FAILOVER_ROUNDS) --nodes 3 --failover; fi \
	  && if [ "$(POWER_ROUNDS)" -gt 0 ]; then "$$BIN/flashd-torture" --rounds $(POWER_ROUNDS) --power-cut \
	       && "$$BIN/flashd-torture" --rounds $(POWER_ROUNDS) --power-cut --redis-loses-writes \
	       && out=$$(mktemp) && if "$$BIN/flashd-torture" --rounds 5 --power-cut --sqlite-sync normal --expect-loss > $$out; \
	          then tail -n 2 $$out; else cat $$out; exit 1; fi \
	       && FLASHD_BIN_DIR="$$BIN" $(SWIFT) test --filter FullDiskTests; fi \
	  && if [ "$(HOLD_ROUNDS)" -gt 0 ]; then "$$BIN/flashd-torture" --rounds $(HOLD_ROUNDS) --holds \
	       && "$$BIN/flashd-torture" --rounds $(HOLD_ROUNDS) --nodes 3 --holds; fi \
	  && if [ "$(DELIVERY_ROUNDS)" -gt 0 ]; then "$$BIN/flashd-torture" --rounds $(DELIVERY_ROUNDS) --nodes 3 --holds --delivery; fi

## 1,000,000 mutated requests through NIO's decoder and flashd's router (FUZZ_INPUTS, FUZZ_SEED).
FUZZ_INPUTS ?= 1000000
fuzz:
	scripts/install-deps.sh
	FUZZ_INPUTS=$(FUZZ_INPUTS) $(SWIFT) test --filter RouterFuzzTests

## Purchases/s, sold-out answers/s and latency against two ceilings, the journal alone, and
## recovery after kill -9 (release build; DURATION, CONNECTIONS, STOCK, RECOVERY_TXNS), on a
## journal holding JOURNAL_ROWS past orders first (put in offline; 0 for an empty journal).
JOURNAL_ROWS ?= 0
bench:
	JOURNAL_ROWS=$(JOURNAL_ROWS) scripts/bench.sh

## Boot Debian 12 under systemd-nspawn, install the .deb with apt, exercise the service (root).
system-test:
	packaging/system-test.sh

clean:
	rm -rf .build .build-release out
